package cdrclient

import "sync/atomic"

// ring is the bounded queue between the hooks (many producers) and one consumer (the pump, the tap writer):
// Dmitry Vyukov's bounded MPMC array queue, with a single consumer. A hook claims a slot with
// one compare-and-swap and publishes it with an atomic store: no lock, so a hook never waits on
// the pump or on a gateway goroutine preempted mid-send (a Go channel's send and receive take
// the channel's lock; under a loaded machine its holder can be descheduled). A producer stalled
// between its claim and its publish delays only the pump, which takes that slot at a later poll.
type ring[T any] struct {
	slots []ringSlot[T]
	mask  uint64
	_     [56]byte // head on its own cache line: producers write it, the pump reads tail
	head  atomic.Uint64
	_     [56]byte
	tail  uint64 // the pump's only
}

type ringSlot[T any] struct {
	seq atomic.Uint64 // pos: free for the producer at pos; pos+1: holds the item of pos
	it  T
}

// newRing holds at least n items (rounded up to a power of two).
func newRing[T any](n int) *ring[T] {
	size := 1
	for size < n {
		size <<= 1
	}
	r := &ring[T]{slots: make([]ringSlot[T], size), mask: uint64(size - 1)}
	for i := range r.slots {
		r.slots[i].seq.Store(uint64(i))
	}
	return r
}

func (r *ring[T]) capacity() int { return len(r.slots) }

// push copies *it in; false when the ring is full.
func (r *ring[T]) push(it *T) bool {
	pos := r.head.Load()
	for {
		s := &r.slots[pos&r.mask]
		switch d := int64(s.seq.Load() - pos); {
		case d == 0:
			if r.head.CompareAndSwap(pos, pos+1) {
				s.it = *it
				s.seq.Store(pos + 1)
				return true
			}
			pos = r.head.Load()
		case d < 0:
			return false // the slot still holds the item of pos-size: full
		default:
			pos = r.head.Load() // another producer took pos
		}
	}
}

// pop moves the oldest published item into *out; false when there is none (yet). One caller only.
func (r *ring[T]) pop(out *T) bool {
	s := &r.slots[r.tail&r.mask]
	if s.seq.Load() != r.tail+1 {
		return false
	}
	var zero T
	*out = s.it
	s.it = zero // drop the references: the slot may wait long for its next item
	s.seq.Store(r.tail + r.mask + 1)
	r.tail++
	return true
}
