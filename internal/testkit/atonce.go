package testkit

import "sync"

// AtOnce runs fn(0) … fn(n-1) on n goroutines released together (each
// waits until all have started), and returns when every one has
// returned: the shape of a race test (one code redeemed, one link
// accepted by n callers at the same moment).
func AtOnce(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}
