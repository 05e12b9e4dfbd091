package sso

import (
	"context"
	"crypto"
)

// SPKeyForBenchmark returns the SP private key of connection idpID, for the
// benchmark's bare decryption baseline.
func SPKeyForBenchmark(ctx context.Context, s *Service, idpID string) (crypto.Signer, error) {
	kp, err := s.spKeyOf(ctx, idpID)
	if err != nil {
		return nil, err
	}
	return kp.key, nil
}
