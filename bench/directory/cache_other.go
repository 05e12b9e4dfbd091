//go:build !linux

package main

import (
	"errors"
	"time"
)

// dropCache is only implemented on Linux.
func dropCache(path, mapped string) error {
	return errors.New("dropping the page cache is only implemented on Linux; run with -skip-cold")
}

// resident is only implemented on Linux.
func resident(path string) (float64, error) { return 0, nil }

// cpuTime is only measured on Linux.
func cpuTime() time.Duration { return 0 }
