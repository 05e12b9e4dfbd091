package identity

import "sync"

// UserDeleteHook runs inside the transaction that deletes a user, before
// the user record goes, so a package that keeps records about users
// (attachments, grants) removes them atomically with the user, whichever
// face deleted it. An error aborts the deletion.
type UserDeleteHook func(tx *Txn, u *User) error

type hooks struct {
	mu         sync.RWMutex
	userDelete []UserDeleteHook
}

// OnUserDelete registers a hook run by every user deletion of this service
// and of the services derived from it with ForEnvironment. Register hooks
// while setting up, before serving.
func (s *Service) OnUserDelete(h UserDeleteHook) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.userDelete = append(s.hooks.userDelete, h)
}

func (t *Txn) runUserDeleteHooks(u *User) error {
	t.s.hooks.mu.RLock()
	hs := append([]UserDeleteHook(nil), t.s.hooks.userDelete...)
	t.s.hooks.mu.RUnlock()
	for _, h := range hs {
		if err := h(t, u); err != nil {
			return err
		}
	}
	return nil
}
