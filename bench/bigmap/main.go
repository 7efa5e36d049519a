// bigmap: a map of N entries for benchmarks (string or int keys), then waits.
// usage: bigmap N [str|int]
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
	"unsafe"
)

var MStr map[string]int
var MInt map[int64]int64

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	kind := "str"
	if len(os.Args) > 2 {
		kind = os.Args[2]
	}
	if kind == "str" {
		MStr = make(map[string]int)
		for i := 0; i < n; i++ {
			MStr["key-"+strconv.Itoa(i)] = i
		}
	} else {
		MInt = make(map[int64]int64)
		for i := 0; i < n; i++ {
			MInt[int64(i)*7919] = int64(i)
		}
	}
	// The header addresses, for decoding a stripped build by address.
	fmt.Printf("GMS-TRUTH {\"n\": %d, \"MStr\": \"%#x\", \"MInt\": \"%#x\"}\nGMS-READY\n", n,
		*(*uintptr)(unsafe.Pointer(&MStr)), *(*uintptr)(unsafe.Pointer(&MInt)))
	for {
		time.Sleep(time.Hour)
		_ = MStr
		_ = MInt
	}
}
