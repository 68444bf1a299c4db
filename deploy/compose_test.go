// Package deploy_test starts the compose cluster of deploy/compose.yaml
// (a beacon and three nodes, each in a container of its own) where docker
// and compose are available, and checks that the nodes form the demo
// counter group and serve their metrics. It skips, saying why, where they
// are not, and under -short.
package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/testkit"
)

// compose returns the compose command this machine has: the docker plugin
// or the standalone docker-compose.
func compose(t *testing.T) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds an image and starts containers")
	}
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skipf("no docker engine here: %v", err)
	}
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if exec.Command("docker-compose", "version").Run() == nil {
		return []string{"docker-compose"}
	}
	t.Skip("no docker compose here")
	return nil
}

// freePort is a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

var status = regexp.MustCompile(`status ([0-9a-f]+) +\w+ +term=\d+ leader=([0-9a-f]+) committed=(\d+) bonds=(\d+)`)

func TestComposeCluster(t *testing.T) {
	cmd := compose(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	image := "mosaik:test-" + id.RandomDigest().Short()
	project := "mosaiktest" + id.RandomDigest().Short()
	ports := map[string]string{}
	env := append(os.Environ(), "MOSAIK_IMAGE="+image)
	for _, svc := range []string{"BEACON", "NODE1", "NODE2", "NODE3"} {
		ports[svc] = freePort(t)
		env = append(env, "MOSAIK_METRICS_"+svc+"="+ports[svc])
	}
	run := func(name string, args ...string) string {
		t.Helper()
		c := exec.CommandContext(ctx, name, args...)
		c.Env = env
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("./build.sh")
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })
	up := append(cmd[1:], "-p", project, "-f", "compose.yaml")
	t.Cleanup(func() {
		c := exec.Command(cmd[0], append(up, "down", "-v", "-t", "5")...)
		c.Env = env
		_ = c.Run()
	})
	run(cmd[0], append(up, "up", "-d")...)

	// The three nodes report one leader, among them, two bonds each, and
	// commits.
	var logs string
	err := testkit.WaitFor(ctx, func() bool {
		c := exec.CommandContext(ctx, cmd[0], append(up, "logs", "--no-color", "node1", "node2", "node3")...)
		c.Env = env
		out, _ := c.CombinedOutput()
		logs = string(out)
		last := map[string][]string{}
		for _, m := range status.FindAllStringSubmatch(logs, -1) {
			last[m[1]] = m
		}
		if len(last) != 3 {
			return false
		}
		var leader string
		for _, m := range last {
			if (leader != "" && m[2] != leader) || m[4] != "2" || m[3] == "0" {
				return false
			}
			leader = m[2]
		}
		_, ok := last[leader]
		return ok
	})
	if err != nil {
		t.Fatalf("no group across the containers: %v\n%s", err, tail(logs, 40))
	}
	// Every container serves its metrics on the host.
	for svc, port := range ports {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%s/metrics", port))
		if err != nil {
			t.Fatalf("%s metrics: %v", svc, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := "mosaik_discovery_"
		if svc != "BEACON" {
			want = "mosaik_groups_bonds_active"
		}
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("%s metrics lack %s", svc, want)
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
