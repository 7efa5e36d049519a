// The gomemscope demo: "where Go's map and list meet in real code".
//
// A small user-profile service keeps an LRU cache (a container/list for
// recency plus a map from key to list element, the textbook Go LRU) under a
// synthetic load from a few goroutines, and a session table restored from a
// "snapshot" at startup. Two realistic faults are planted for gomemscope to
// find from the outside:
//
//  1. main.sessions is created WITHOUT a size hint and then ~200k sessions are
//     inserted in one burst (and more trickle in later). The map grows by
//     doubling over and over: classic maps (go1.19) go through ~15 hashGrow
//     rounds, each one rehashing every entry with incremental evacuation
//     interleaved with the next inserts; Swiss maps (go1.24+) go through
//     repeated table grows, ~256 table splits and several directory doublings.
//     Fix: make(map[int64]*Session, len(snapshot)).
//
//  2. The eviction callback remembers the evicted *list.Element in
//     main.lastEvicted, and a "re-warm" path later calls
//     cache.ll.MoveToFront(lastEvicted) and reads lastEvicted.Value. After
//     list.Remove the element has next == prev == list == nil; MoveToFront on
//     it is a silent no-op (container/list returns when e.list != l), so the
//     entry is NOT back in the cache and the re-warm counter lies, and the
//     value read from it is stale. Go catches none of this.
//     Fix: re-insert with Put(key, value) instead of touching a dead element.
//
// Usage: demo [-duration D]   (default: run until SIGTERM/SIGINT, exit 0)
// Prints "demo: pid <PID> ready" on stdout once warm, nothing else.
package main

import (
	"container/list"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Profile is the cached value.
type Profile struct {
	ID     int64
	Name   string
	Score  float64
	Visits int
	Tags   []string
}

// entry is what the LRU list holds (as *entry in list.Element.Value).
type entry struct {
	key   string
	value Profile
}

// LRU is the classic Go LRU: ll orders entries by recency (front = newest),
// items finds an entry's element by key.
type LRU struct {
	mu       sync.Mutex
	capacity int
	ll       *list.List
	items    map[string]*list.Element

	onEvict func(e *list.Element)

	hits, misses, evictions int64
}

func NewLRU(capacity int, onEvict func(*list.Element)) *LRU {
	return &LRU{
		capacity: capacity,
		ll:       list.New(),
		items:    make(map[string]*list.Element, capacity),
		onEvict:  onEvict,
	}
}

func (c *LRU) Get(key string) (Profile, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		ent := e.Value.(*entry)
		ent.value.Visits++
		c.hits++
		return ent.value, true
	}
	c.misses++
	return Profile{}, false
}

func (c *LRU) Put(key string, p Profile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		e.Value.(*entry).value = p
		return
	}
	c.items[key] = c.ll.PushFront(&entry{key: key, value: p})
	if c.ll.Len() > c.capacity {
		c.removeOldest()
	}
}

// removeOldest runs with c.mu held.
func (c *LRU) removeOldest() {
	e := c.ll.Back()
	if e == nil {
		return
	}
	c.ll.Remove(e) // e.next = e.prev = e.list = nil from here on; Value stays
	delete(c.items, e.Value.(*entry).key)
	c.evictions++
	if c.onEvict != nil {
		c.onEvict(e)
	}
}

// Session is one logged-in user session.
type Session struct {
	ID       int64
	UserID   int64
	Created  int64 // unix seconds
	LastSeen int64
	Addr     string
}

var (
	// cache is the process-wide profile cache (inspect main.cache.items and
	// main.cache.ll).
	cache *LRU

	// FAULT 1: see restoreSessions.
	sessions   map[int64]*Session
	sessionsMu sync.Mutex

	// FAULT 2: the last element the cache evicted, kept by the eviction
	// callback "so a hot entry can be re-warmed". It is a removed element:
	// next/prev/list are nil.
	lastEvicted *list.Element

	// rewarmed counts re-warms that "succeeded" (none really did).
	rewarmed int64
	// staleReads counts values served from the dead element.
	staleReads int64
)

const (
	cacheCapacity = 5000
	keySpace      = 20000 // zipf-distributed user ids 0..keySpace-1
	workers       = 3
	batch         = 200                   // ops per batch per worker
	pause         = 50 * time.Millisecond // between batches: ~12k ops/s total
)

func profileFor(id int64) Profile {
	return Profile{
		ID:    id,
		Name:  "user-" + strconv.FormatInt(id, 10),
		Score: float64(id%1000) / 10,
		Tags:  []string{"tier-" + strconv.FormatInt(id%3, 10)},
	}
}

// worker simulates request handlers: look the profile up, load it on a miss.
func worker(seed int64, stop <-chan struct{}) {
	r := rand.New(rand.NewSource(seed))
	z := rand.NewZipf(r, 1.1, 2, keySpace-1)
	for {
		for i := 0; i < batch; i++ {
			id := int64(z.Uint64())
			key := "user:" + strconv.FormatInt(id, 10)
			if _, ok := cache.Get(key); !ok {
				cache.Put(key, profileFor(id)) // "load from the database"
			}
		}
		select {
		case <-stop:
			return
		case <-time.After(pause):
		}
	}
}

// rewarmLastEvicted is the FAULT 2 code path: it tries to give the entry the
// cache just evicted a second chance if it had been popular.
func rewarmLastEvicted() {
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if lastEvicted == nil {
		return
	}
	ent := lastEvicted.Value.(*entry) // stale: this entry is no longer cached
	staleReads++
	if ent.value.Visits >= 1 {
		// BUG: lastEvicted was removed from cache.ll; MoveToFront silently
		// does nothing (e.list != l), the key is still missing from
		// cache.items, and the counter below claims a re-warm happened.
		cache.ll.MoveToFront(lastEvicted)
		rewarmed++
	}
}

// restoreSessions loads the session snapshot at startup.
func restoreSessions(n int) {
	// FAULT 1: no size hint although n (~200k) entries arrive right away, so
	// the map is rehashed again and again while they are inserted.
	// Should be make(map[int64]*Session, n).
	sessionsMu.Lock()
	defer sessionsMu.Unlock()
	sessions = make(map[int64]*Session)
	now := time.Now().Unix()
	r := rand.New(rand.NewSource(1))
	for i := 0; i < n; i++ {
		id := int64(i)*7919 + 1
		sessions[id] = &Session{
			ID:       id,
			UserID:   r.Int63n(keySpace),
			Created:  now - r.Int63n(86400),
			LastSeen: now,
			Addr:     fmt.Sprintf("10.%d.%d.%d:443", i>>16&255, i>>8&255, i&255),
		}
	}
}

// sessionTrickle keeps adding sessions (and touching a few) slowly, so the
// unsized map keeps growing over the demo's lifetime.
func sessionTrickle(stop <-chan struct{}) {
	r := rand.New(rand.NewSource(2))
	next := int64(len(sessions))
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := time.Now().Unix()
		sessionsMu.Lock()
		if len(sessions) < 2000000 {
			for i := 0; i < 20; i++ {
				id := next*7919 + 1
				next++
				sessions[id] = &Session{ID: id, UserID: r.Int63n(keySpace), Created: now, LastSeen: now,
					Addr: "192.168.0." + strconv.Itoa(int(next%250)) + ":443"}
			}
		}
		if s := sessions[r.Int63n(next)*7919+1]; s != nil {
			s.LastSeen = now
		}
		sessionsMu.Unlock()
	}
}

func main() {
	duration := flag.Duration("duration", 0, "run for this long, then exit 0 (default: until killed)")
	flag.Parse()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)

	cache = NewLRU(cacheCapacity, func(e *list.Element) {
		lastEvicted = e // FAULT 2: keeps a dead element around
	})
	restoreSessions(200000)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(seed int64) { defer wg.Done(); worker(seed, stop) }(int64(i + 1))
	}
	wg.Add(2)
	go func() { defer wg.Done(); sessionTrickle(stop) }()
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				rewarmLastEvicted()
			}
		}
	}()

	// Warm: the cache is full and has started evicting.
	for {
		cache.mu.Lock()
		warm := cache.ll.Len() >= cacheCapacity && lastEvicted != nil
		cache.mu.Unlock()
		if warm {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Printf("demo: pid %d ready\n", os.Getpid())

	var timeout <-chan time.Time
	if *duration > 0 {
		timeout = time.After(*duration)
	}
	select {
	case <-sig:
	case <-timeout:
	}
	close(stop)
	wg.Wait()
	os.Exit(0)
}
