// heapgraph: a heap of about 4 objects per record for the whole-heap
// benchmarks (bench/heap.sh): main.index, a map of N records, each with a
// name, a slice of two tags and a 128-byte payload, linked to the previous
// record. With N = 2,500,000: about 10^7 objects and 0.9 GiB of heap.
// Prints GMS-READY {"HeapAlloc": A, "HeapObjects": O} when built, then waits.
//
// usage: heapgraph N
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

type record struct {
	name    string
	tags    []string
	payload []byte
	prev    *record
}

var index map[string]*record

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	index = make(map[string]*record)
	var prev *record
	for i := 0; i < n; i++ {
		r := &record{name: "r" + strconv.Itoa(i), tags: []string{"a", "b"},
			payload: make([]byte, 128), prev: prev}
		index[r.name] = r
		prev = r
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("GMS-READY {\"HeapAlloc\": %d, \"HeapObjects\": %d}\n", ms.HeapAlloc, ms.HeapObjects)
	os.Stdout.Sync()
	for {
		time.Sleep(time.Hour)
		runtime.KeepAlive(prev)
	}
}
