package logroute

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lni/dragonboat/v4/logger"
)

func init() { restoreStdlog() }

// restoreStdlog undoes capnslog's init, which points the standard logger
// at its own writer with no flags.
func restoreStdlog() {
	if fmt.Sprintf("%T", log.Writer()) == "capnslog.packageWriter" {
		log.SetOutput(os.Stderr)
		log.SetFlags(log.LstdFlags)
		log.SetPrefix("")
	}
}

// Router forwards dragonboat's lines to the loggers of live nodes.
type Router struct {
	mu    sync.Mutex
	sinks atomic.Pointer[[]*sink]
}

type sink struct{ l *slog.Logger }

var (
	dragonboat  Router
	installOnce sync.Once
	installErr  error
)

// Dragonboat installs the router as dragonboat's logger factory (once per
// process) and returns it. It fails, and dragonboat keeps logging where it
// did, when something else installed a factory first.
func Dragonboat() (*Router, error) {
	installOnce.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				installErr = fmt.Errorf("logroute: dragonboat's logger factory is already set: %v", r)
			}
		}()
		logger.SetLoggerFactory(func(pkg string) logger.ILogger { return &pkgLogger{r: &dragonboat, pkg: pkg} })
	})
	return &dragonboat, installErr
}

// Add starts forwarding to l until the returned function is called.
func (r *Router) Add(l *slog.Logger) (remove func()) {
	s := &sink{l: l}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.load()
	next := append(append(make([]*sink, 0, len(old)+1), old...), s)
	r.sinks.Store(&next)
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		old := r.load()
		next := make([]*sink, 0, len(old))
		for _, x := range old {
			if x != s {
				next = append(next, x)
			}
		}
		r.sinks.Store(&next)
	}
}

func (r *Router) load() []*sink {
	if p := r.sinks.Load(); p != nil {
		return *p
	}
	return nil
}

// log formats the line once, if any sink wants it, and hands it to each.
func (r *Router) log(level slog.Level, pkg, format string, args []any) {
	sinks := r.load()
	ctx := context.Background()
	var rec slog.Record
	made := false
	for _, s := range sinks {
		h := s.l.Handler()
		if !h.Enabled(ctx, level) {
			continue
		}
		if !made {
			var pcs [1]uintptr
			runtime.Callers(4, pcs[:])
			rec = slog.NewRecord(time.Now(), level, strings.TrimRight(fmt.Sprintf(format, args...), "\n"), pcs[0])
			rec.AddAttrs(slog.String("lib", "dragonboat"), slog.String("pkg", pkg))
			made = true
		}
		_ = h.Handle(ctx, rec.Clone())
	}
}

// DragonboatLevel maps a dragonboat line to a slog level. dragonboat logs
// every snapshot and LogDB step at Info, and its raft package every
// election step at Warning: those are Debug here (mosaik logs the events
// that matter itself: leaders elected and lost). Its transport reports
// every batch it cannot send as an error, routine while bonds come and
// go (raftbond counts them): Debug too. Other warnings (a notice that
// mutual TLS is off, which mosaik's bonds make moot) are Info; errors stay
// errors.
func DragonboatLevel(pkg string, l logger.LogLevel) slog.Level {
	switch {
	case l >= logger.INFO:
		return slog.LevelDebug
	case pkg == "transport":
		return slog.LevelDebug
	case l == logger.WARNING && pkg == "raft":
		return slog.LevelDebug
	case l == logger.WARNING:
		return slog.LevelInfo
	default:
		return slog.LevelError
	}
}

// pkgLogger is the ILogger of one dragonboat package. Its SetLevel only
// raises or lowers what dragonboat itself passes on; the sinks' handlers
// filter by their own levels.
type pkgLogger struct {
	r     *Router
	pkg   string
	level atomic.Int32 // a logger.LogLevel; lines above it are dropped
}

func (p *pkgLogger) SetLevel(l logger.LogLevel) { p.level.Store(int32(l) + 100) }

func (p *pkgLogger) enabled(l logger.LogLevel) bool {
	v := p.level.Load()
	return v == 0 || l <= logger.LogLevel(v-100)
}

func (p *pkgLogger) emit(l logger.LogLevel, format string, args []any) {
	if p.enabled(l) {
		p.r.log(DragonboatLevel(p.pkg, l), p.pkg, format, args)
	}
}

func (p *pkgLogger) Debugf(format string, args ...any)   { p.emit(logger.DEBUG, format, args) }
func (p *pkgLogger) Infof(format string, args ...any)    { p.emit(logger.INFO, format, args) }
func (p *pkgLogger) Warningf(format string, args ...any) { p.emit(logger.WARNING, format, args) }
func (p *pkgLogger) Errorf(format string, args ...any)   { p.emit(logger.ERROR, format, args) }
func (p *pkgLogger) Panicf(format string, args ...any) {
	p.r.log(slog.LevelError, p.pkg, format, args)
	panic(fmt.Sprintf(format, args...))
}
