package bench

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Run is what one benchmark process measured, with the machine it ran on:
// the JSON that -results-json writes and bench/report renders.
type Run struct {
	Machine Machine  `json:"machine"`
	Results []Result `json:"results"`
}

// Machine describes where a [Run] ran. Absolute figures only mean
// something next to it; ratios compare across machines.
type Machine struct {
	CPU        string    `json:"cpu"`        // model name, from /proc/cpuinfo where there is one
	Cores      int       `json:"cores"`      // logical CPUs the process could use
	GOMAXPROCS int       `json:"gomaxprocs"` // at the end of the run
	Go         string    `json:"go"`         // toolchain version, e.g. "go1.26.8"
	Platform   string    `json:"platform"`   // GOOS/GOARCH
	Date       time.Time `json:"date"`       // when the run ended, UTC
	// Load is the machine's 1, 5 and 15 minute load averages when the
	// run ended ("" where /proc/loadavg is missing). On a shared machine
	// it says how much others ran beside the benchmarks: a side that
	// needs more CPU than its baseline suffers more from them.
	Load string `json:"load,omitempty"`
}

// DescribeMachine describes the machine this process runs on, now.
func DescribeMachine() Machine {
	cpu := ""
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		cpu = cpuModel(f)
		f.Close()
	}
	if cpu == "" {
		cpu = "unknown " + runtime.GOARCH + " CPU"
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = loadAverages(string(b))
	}
	return Machine{
		CPU:        cpu,
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Go:         runtime.Version(),
		Platform:   runtime.GOOS + "/" + runtime.GOARCH,
		Date:       time.Now().UTC().Truncate(time.Second),
		Load:       load,
	}
}

// loadAverages returns the three load averages at the start of the text
// of /proc/loadavg ("0.52 0.58 0.59 1/467 12345"), or "" if it does not
// start with three numbers.
func loadAverages(loadavg string) string {
	f := strings.Fields(loadavg)
	if len(f) < 3 {
		return ""
	}
	for _, v := range f[:3] {
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return ""
		}
	}
	return strings.Join(f[:3], " ")
}

// cpuModelKeys are the /proc/cpuinfo fields that name the CPU, by
// preference: x86 says "model name"; some ARM kernels say "Hardware" or
// "Processor", MIPS "cpu model".
var cpuModelKeys = []string{"model name", "Hardware", "Processor", "cpu model"}

// cpuModel reads the CPU's model name from the text of /proc/cpuinfo, or
// returns "" if it names none.
func cpuModel(r io.Reader) string {
	found := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if _, seen := found[key]; !seen && value != "" {
			found[key] = value
		}
	}
	for _, k := range cpuModelKeys {
		if v := found[k]; v != "" {
			return v
		}
	}
	return ""
}

// WriteRun writes run as indented JSON, goals such as "<= 2.5" as they
// read (no HTML escaping).
func WriteRun(w io.Writer, run Run) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(run)
}
