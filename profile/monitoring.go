package profile

import (
	"bufio"
	"context"
	"crypto/subtle"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// Memory is the answer of /monitoring/memory (bytes). The JVM fields
// report the Go runtime: total = memory obtained from the OS, free = idle
// heap, max = the soft memory limit (or total when unlimited).
type Memory struct {
	TotalJvmMemory  int64 `json:"totalJvmMemory"`
	FreeJvmMemory   int64 `json:"freeJvmMemory"`
	MaxJvmMemory    int64 `json:"maxJvmMemory"`
	TotalOsMemory   int64 `json:"totalOsMemory"`
	FreeOsMemory    int64 `json:"freeOsMemory"`
	TotalSwapMemory int64 `json:"totalSwapMemory"`
	FreeSwapMemory  int64 `json:"freeSwapMemory"`
}

// Status is the answer of /monitoring/status.
type Status struct {
	Uptime  int64  `json:"uptime"`
	Startup string `json:"startup"`
}

// Version is the answer of /monitoring/version.
type Version struct {
	PackageName      string `json:"packageName"`
	PackageVersion   string `json:"packageVersion"`
	PackageBuild     string `json:"packageBuild"`
	PackageBuildDate string `json:"packageBuildDate"`
	OSName           string `json:"osName"`
	OSVersion        string `json:"osVersion"`
	OSArch           string `json:"osArch"`
	JavaVersion      string `json:"javaVersion"`
	JavaVendor       string `json:"javaVendor"`
	JavaVM           string `json:"javaVm"`
}

// checkMonitoring applies the management token: missing is 400, wrong is
// 401; an unconfigured token refuses every call.
func (s *Service) checkMonitoring(ctx context.Context, token string) error {
	if token == "" {
		return missingParam("token")
	}
	ok := false
	if s.opts.MonitoringAuth != nil {
		ok = s.opts.MonitoringAuth(ctx, token)
	} else if want := s.opts.MonitoringToken; want != "" {
		ok = subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1
	}
	if !ok {
		return apiErr(http.StatusUnauthorized, CodeAccessDenied, "Management authorization failed, invalid token.")
	}
	return nil
}

// MemoryInfo reports the runtime's and the operating system's memory.
func (s *Service) MemoryInfo() Memory {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := Memory{TotalJvmMemory: int64(ms.Sys), FreeJvmMemory: int64(ms.HeapIdle - ms.HeapReleased)}
	if lim := debug.SetMemoryLimit(-1); lim > 0 && lim < 1<<62 {
		m.MaxJvmMemory = lim
	} else {
		m.MaxJvmMemory = int64(ms.Sys)
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			fields := strings.Fields(v)
			if len(fields) == 0 {
				continue
			}
			n, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				continue
			}
			n *= 1024
			switch k {
			case "MemTotal":
				m.TotalOsMemory = n
			case "MemAvailable":
				m.FreeOsMemory = n
			case "SwapTotal":
				m.TotalSwapMemory = n
			case "SwapFree":
				m.FreeSwapMemory = n
			}
		}
	}
	return m
}

// StatusInfo reports uptime and start time.
func (s *Service) StatusInfo() Status {
	return Status{Uptime: int64(s.base.Now().Sub(s.started) / time.Second), Startup: javaInstant(s.started)}
}

// javaInstant formats t as Java's Instant.toString does for a time of
// millisecond precision (Crafter's Date.toInstant()): UTC, with the
// milliseconds when there are any ("2019-03-07T21:29:11.049Z").
func javaInstant(t time.Time) string {
	t = t.UTC().Truncate(time.Millisecond)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.000Z")
}

// VersionInfo reports the build.
func (s *Service) VersionInfo() Version {
	v := Version{PackageName: "gatehouse", PackageVersion: s.opts.Version, OSName: runtime.GOOS,
		OSArch: runtime.GOARCH, JavaVersion: runtime.Version(), JavaVendor: "Go", JavaVM: runtime.Compiler}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v.PackageName = bi.Main.Path
		if v.PackageVersion == "" {
			v.PackageVersion = bi.Main.Version
		}
		for _, st := range bi.Settings {
			switch st.Key {
			case "vcs.revision":
				v.PackageBuild = st.Value
			case "vcs.time":
				v.PackageBuildDate = st.Value
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		v.OSVersion = strings.TrimSpace(string(b))
	}
	return v
}
