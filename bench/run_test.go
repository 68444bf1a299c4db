package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestCPUModel(t *testing.T) {
	tests := []struct {
		name, cpuinfo, want string
	}{
		{"x86", "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu vme\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n", "AMD EPYC 7B13"},
		{"arm hardware", "processor\t: 0\nBogoMIPS\t: 48.00\nCPU implementer\t: 0x41\n\nHardware\t: BCM2835\n", "BCM2835"},
		{"model name wins", "Hardware\t: BCM2835\nmodel name\t: ARMv7 Processor rev 4 (v7l)\n", "ARMv7 Processor rev 4 (v7l)"},
		{"empty value skipped", "model name\t:\nmodel name\t: Second\n", "Second"},
		{"none", "processor\t: 0\nBogoMIPS\t: 48.00\n", ""},
		{"empty", "", ""},
		{"no colons", "garbage\nmore garbage\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cpuModel(strings.NewReader(tt.cpuinfo)); got != tt.want {
				t.Errorf("cpuModel = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadAverages(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0.52 0.58 0.59 1/467 12345\n", "0.52 0.58 0.59"},
		{"9.90 10.67 8.96", "9.90 10.67 8.96"},
		{"0.52 0.58", ""},
		{"a b c d", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := loadAverages(tt.in); got != tt.want {
			t.Errorf("loadAverages(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDescribeMachine(t *testing.T) {
	m := DescribeMachine()
	if m.CPU == "" || m.Cores < 1 || m.GOMAXPROCS < 1 || !strings.HasPrefix(m.Go, "go") || !strings.Contains(m.Platform, "/") || m.Date.IsZero() {
		t.Fatalf("incomplete description: %+v", m)
	}
}

func TestWriteRunRoundTrips(t *testing.T) {
	run := Run{
		Machine: DescribeMachine(),
		Results: []Result{Summarize(Spec{ID: "B10", Name: "actor/hop", Unit: "ns", Goal: "<= 2.5", Fsync: "n/a"}, []Pair{{Ours: 4, Base: 2}, {Ours: 9, Base: 3}})},
	}
	var buf bytes.Buffer
	if err := WriteRun(&buf, run); err != nil {
		t.Fatal(err)
	}
	var got Run
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Machine.Date.Equal(run.Machine.Date) || got.Machine.CPU != run.Machine.CPU {
		t.Errorf("machine %+v, want %+v", got.Machine, run.Machine)
	}
	if len(got.Results) != 1 || got.Results[0].ID != "B10" || got.Results[0].Ratio != 2.5 || len(got.Results[0].Pairs) != 2 {
		t.Errorf("results %+v, want the one written", got.Results)
	}
}
