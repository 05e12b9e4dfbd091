// Package testing shows how a host program tests its own handlers against
// Gatehouse: an in-memory store, a real organization, user and application,
// and real tokens minted in-process, with no server to start.
package testing
