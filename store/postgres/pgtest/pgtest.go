// Package pgtest starts throwaway PostgreSQL clusters for tests: initdb and
// pg_ctl from the installed server, a temporary directory, a free loopback
// port, trust authentication. It needs no running server and no
// configuration; when no server is installed, Start fails with an error
// wrapping ErrNotInstalled so that tests can skip with a visible message.
//
// initdb refuses to run as root, so when the test runs as root the cluster
// belongs to the "postgres" user (or "nobody") and the server runs as that
// user.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrNotInstalled is wrapped by Start's error when no PostgreSQL server
// binaries (initdb, pg_ctl) can be found.
var ErrNotInstalled = errors.New("PostgreSQL server is not installed")

// InstallHint is the command that installs the server on Debian and Ubuntu.
const InstallHint = "apt-get install -y postgresql"

// Options tune a cluster.
type Options struct {
	// Fsync keeps fsync on. Off by default: tests kill the server process,
	// not the machine, and the OS keeps written WAL either way.
	Fsync bool
	// Settings are extra server settings, name to value.
	Settings map[string]string
}

// Cluster is a running throwaway server.
type Cluster struct {
	// Dir is the temporary directory holding the data directory, the log
	// and the Unix socket.
	Dir string
	// Port is the loopback TCP port the server listens on.
	Port int
	bin  string
	cred *owner
	opts Options
}

// BinDirEnv names an environment variable that, when set, is the only
// directory BinDir considers (to pick a server version, or to check that
// tests skip cleanly when it holds no server).
const BinDirEnv = "GATEHOUSE_PG_BINDIR"

// BinDir returns the directory holding initdb and pg_ctl: $GATEHOUSE_PG_BINDIR
// when set, else from PATH, then pg_config --bindir, then the newest
// /usr/lib/postgresql/*/bin.
func BinDir() (string, error) {
	if dir, ok := os.LookupEnv(BinDirEnv); ok {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err != nil {
			return "", fmt.Errorf("%s=%s: %w", BinDirEnv, dir, ErrNotInstalled)
		}
		return dir, nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	return "", ErrNotInstalled
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start creates and starts a cluster. Stop it when done.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gatehouse-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, bin: bin, opts: opts}
	if os.Geteuid() == 0 {
		cred, err := serverUser()
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		c.cred = cred
		if err := os.Chown(dir, cred.uid, cred.gid); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := c.run(ctx, "initdb", "-D", c.dataDir(), "-U", "gatehouse", "--auth=trust", "-E", "UTF8",
		"--locale=C", "--no-sync"); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if c.Port, err = freePort(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// owner is the unprivileged user that owns the cluster when the test
// runs as root (Unix only: elsewhere nothing runs as root).
type owner struct{ uid, gid int }

// serverUser returns the owner of the cluster when the test runs as root.
func serverUser() (*owner, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 == nil && err2 == nil {
			return &owner{uid: int(uid), gid: int(gid)}, nil
		}
	}
	return nil, errors.New("pgtest: running as root and no postgres or nobody user to own the cluster")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.Dir, "data") }

func (c *Cluster) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		runAs(cmd, c.cred)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: %s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// Start starts the server of a stopped cluster (after Kill or Stop) on the
// same port and data.
func (c *Cluster) Start(ctx context.Context) error {
	settings := []string{
		"-p", strconv.Itoa(c.Port),
		"-k", c.Dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "max_connections=200",
		"-c", "shared_buffers=64MB",
		"-c", "max_pred_locks_per_transaction=256",
	}
	if !c.opts.Fsync {
		settings = append(settings, "-c", "fsync=off", "-c", "full_page_writes=off")
	}
	keys := make([]string, 0, len(c.opts.Settings))
	for k := range c.opts.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		settings = append(settings, "-c", k+"="+c.opts.Settings[k])
	}
	return c.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", c.dataDir(),
		"-l", filepath.Join(c.Dir, "server.log"), "-o", strings.Join(settings, " "))
}

// URL returns a connection URL for database db ("postgres" exists in
// every cluster) as the superuser "gatehouse".
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://gatehouse@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// Kill stops the server the hard way (pg_ctl stop -m immediate): no
// checkpoint, connections cut, crash recovery on the next Start.
func (c *Cluster) Kill(ctx context.Context) error {
	return c.run(ctx, "pg_ctl", "stop", "-w", "-m", "immediate", "-D", c.dataDir())
}

// Stop shuts the server down and removes the cluster's directory.
func (c *Cluster) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := c.run(ctx, "pg_ctl", "stop", "-w", "-m", "fast", "-D", c.dataDir())
	if err != nil && c.run(ctx, "pg_ctl", "status", "-D", c.dataDir()) != nil {
		err = nil // it was not running (killed and not restarted)
	}
	if rerr := os.RemoveAll(c.Dir); err == nil {
		err = rerr
	}
	return err
}

// PID returns the process id of the running server's postmaster (from
// postmaster.pid in the data directory), for tools that measure the
// server's CPU time: its backends are the postmaster's children.
func (c *Cluster) PID() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.dataDir(), "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("pgtest: server not running: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pgtest: corrupt postmaster.pid %q", line)
	}
	return pid, nil
}

// Log returns the server log, for failing tests to print.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "server.log"))
	return string(b)
}
