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

// BeforeAppend runs hook before each append to the write-ahead log of s;
// its error fails the append (nil: no hook).
func BeforeAppend(s *Store, hook func() error) {
	if hook == nil {
		s.wal.beforeAppend.Store(nil)
		return
	}
	s.wal.beforeAppend.Store(&hook)
}
