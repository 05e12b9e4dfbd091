package bolt

// FailCheckpoints makes each checkpoint of s fail with fail's error
// before it writes anything (nil: checkpoints work again).
func FailCheckpoints(s *Store, fail func() error) {
	if fail == nil {
		s.wal.failCheckpoint.Store(nil)
		return
	}
	s.wal.failCheckpoint.Store(&fail)
}
