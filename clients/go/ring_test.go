package cdrclient

import (
	"sync"
	"testing"
)

// Every item pushed by concurrent producers comes out once, each producer's in its order;
// a full ring refuses (no overwrite), and frees a slot per pop.
func TestRingManyProducersOneConsumer(t *testing.T) {
	r := newRing[item](1000)
	if r.capacity() != 1024 {
		t.Fatalf("capacity %d", r.capacity())
	}
	const producers, each = 4, 20000
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < each; {
				if r.push(&item{kind: uint8(p), at: int64(i)}) {
					i++
				}
			}
		}(p)
	}
	next := make([]int64, producers)
	var it item
	for got := 0; got < producers*each; {
		if !r.pop(&it) {
			continue
		}
		if it.at != next[it.kind] {
			t.Fatalf("producer %d: item %d after %d", it.kind, it.at, next[it.kind]-1)
		}
		next[it.kind]++
		got++
	}
	wg.Wait()
	if r.pop(&it) {
		t.Fatal("an item more than was pushed")
	}
	for i := 0; i < 1024; i++ {
		if !r.push(&item{at: int64(i)}) {
			t.Fatalf("full after %d", i)
		}
	}
	if r.push(&item{}) {
		t.Fatal("pushed into a full ring")
	}
	if !r.pop(&it) || it.at != 0 || !r.push(&item{at: 1024}) || r.push(&item{}) {
		t.Fatal("a pop frees exactly one slot")
	}
}
