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

// BeforeFreeze runs hook in each checkpoint of s between the moment it
// has its records and the freeze of the memtable (nil: no hook).
func BeforeFreeze(s *Store, hook func()) {
	if hook == nil {
		s.wal.beforeFreeze.Store(nil)
		return
	}
	s.wal.beforeFreeze.Store(&hook)
}
