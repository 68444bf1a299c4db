// Command group-chat runs chat rooms on replicated collections: a room is
// a Map of its members (name -> member) and a Vec of its messages. Members
// join a room by name, see its history, post lines, and leave; every
// member holds a copy of the room and reads it locally.
//
// By default three members (alice, bob, carol) on loopback nodes join the
// room "lobby" one after another, each reading the history so far and
// posting a line; then bob leaves, and the others see him go.
//
//	go run ./examples/group-chat [-n 3] [-room lobby]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/collections"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
)

// Member is a room's entry for one member.
type Member struct {
	Name string `json:"name"`
	Peer string `json:"peer"` // the member's node, short peer id
}

// Message is one line posted to a room.
type Message struct {
	From string `json:"from"`
	Text string `json:"text"`
}

// Room is one member's handle on a chat room.
type Room struct {
	name     string
	self     string
	members  *collections.MapWriter[string, Member]
	messages *collections.VecWriter[Message]
}

// roomDef names one of a room's collections: rooms with different names
// are different collections.
func roomDef(room, part string) collections.Def {
	return collections.Def{
		Store:  id.Of("examples/group-chat/" + room + "/" + part),
		Config: collections.Config{Consensus: groups.FastConsensus()},
	}
}

// JoinRoom enters room as name from node: it opens the room's
// collections, waits until they are online and adds name to the members.
func JoinRoom(ctx context.Context, node *cluster.Node, room, name string) (_ *Room, err error) {
	r := &Room{name: room, self: name}
	defer func() {
		if err != nil {
			err = errors.Join(err, r.close(context.WithoutCancel(ctx)))
		}
	}()
	if r.members, err = collections.NewMapWriter[string, Member](ctx, node, roomDef(room, "members")); err != nil {
		return nil, err
	}
	if r.messages, err = collections.NewVecWriter[Message](ctx, node, roomDef(room, "messages")); err != nil {
		return nil, err
	}
	for _, w := range []interface{ When() *collections.When }{r.members, r.messages} {
		if err := w.When().Online(ctx); err != nil {
			return nil, fmt.Errorf("room %s: %w", room, err)
		}
	}
	insert := func() (collections.Version, error) {
		return r.members.Insert(ctx, name, Member{Name: name, Peer: node.PeerID().Short()})
	}
	if _, err := whenOnline(ctx, r.members, insert); err != nil {
		return nil, fmt.Errorf("join %s: %w", room, err)
	}
	return r, nil
}

// whenOnline sends a write, and sends it again each time the collection
// refuses it as offline once it is online again. A refused write was
// never sent (collections.WriteError), so sending it again cannot apply
// it twice. A collection is briefly offline while its group changes
// leader, or when the shard a newcomer started before it saw the others
// gives way to theirs.
func whenOnline(ctx context.Context, c interface{ When() *collections.When }, write func() (collections.Version, error)) (collections.Version, error) {
	for {
		v, err := write()
		if !errors.Is(err, collections.ErrOffline) {
			return v, err
		}
		if err := c.When().Online(ctx); err != nil {
			return 0, err
		}
	}
}

// Post adds a line to the room and returns the version it was applied
// at; other members see it once they reach that version.
func (r *Room) Post(ctx context.Context, text string) (collections.Version, error) {
	return whenOnline(ctx, r.messages, func() (collections.Version, error) {
		return r.messages.PushBack(ctx, Message{From: r.self, Text: text})
	})
}

// History is the room's messages as this member has them.
func (r *Room) History() []Message { return slices.Collect(r.messages.Values()) }

// Members is the names of the room's members, sorted.
func (r *Room) Members() []string { return slices.Collect(r.members.Keys()) }

// Catch waits until this member has seen the room at both versions
// (members, messages).
func (r *Room) Catch(ctx context.Context, members, messages collections.Version) error {
	if err := r.members.When().Reaches(ctx, members); err != nil {
		return err
	}
	return r.messages.When().Reaches(ctx, messages)
}

// Versions are the versions of the room this member has seen.
func (r *Room) Versions() (members, messages collections.Version) {
	return r.members.Version(), r.messages.Version()
}

// Leave removes this member from the room and closes its handles.
func (r *Room) Leave(ctx context.Context) (collections.Version, error) {
	v, err := whenOnline(ctx, r.members, func() (collections.Version, error) { return r.members.Remove(ctx, r.self) })
	return v, errors.Join(err, r.close(ctx))
}

func (r *Room) close(ctx context.Context) error {
	var errs []error
	if r.members != nil {
		errs = append(errs, r.members.Close(ctx))
	}
	if r.messages != nil {
		errs = append(errs, r.messages.Close(ctx))
	}
	return errors.Join(errs...)
}

func main() {
	n := flag.Int("n", 3, "number of members (one node each)")
	room := flag.String("room", "lobby", "the room to meet in")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, *n, *room); err != nil {
		fmt.Fprintln(os.Stderr, "group-chat:", err)
		os.Exit(1)
	}
}

var names = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace"}

// run starts n nodes; a member on each joins room in turn, reads the
// history and posts; then the second member leaves.
func run(ctx context.Context, out io.Writer, n int, room string) error {
	if n < 2 || n > len(names) {
		return fmt.Errorf("need 2 to %d members", len(names))
	}
	var nodes []*cluster.Node
	defer func() {
		var wg sync.WaitGroup
		for _, node := range nodes {
			wg.Go(func() { _ = node.Close(context.Background()) })
		}
		wg.Wait()
	}()
	for i := range n {
		cfg := cluster.Config{Network: "examples/group-chat", DataDir: cluster.InMemory, Discovery: discovery.FastConfig()}
		if i > 0 {
			cfg.Bootstrap = []string{nodes[0].GossipAddr()}
		}
		node, err := cluster.Start(ctx, cfg)
		if err != nil {
			return err
		}
		nodes = append(nodes, node)
	}
	var rooms []*Room
	defer func() {
		for _, r := range rooms {
			_ = r.close(context.Background())
		}
	}()
	var lastMembers, lastMessages collections.Version
	for i, node := range nodes {
		r, err := JoinRoom(ctx, node, room, names[i])
		if err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
		rooms = append(rooms, r)
		// A newcomer sees everything posted before it joined.
		if err := r.Catch(ctx, lastMembers, lastMessages); err != nil {
			return fmt.Errorf("%s: catching up: %w", names[i], err)
		}
		fmt.Fprintf(out, "%s joined %s: members %s, %d earlier message(s)\n", r.self, room, strings.Join(r.Members(), ","), len(r.History()))
		if lastMessages, err = r.Post(ctx, fmt.Sprintf("hello from %s", r.self)); err != nil {
			return fmt.Errorf("%s: post: %w", r.self, err)
		}
		lastMembers, _ = r.Versions()
	}
	for _, r := range rooms {
		if err := r.Catch(ctx, lastMembers, lastMessages); err != nil {
			return err
		}
		var lines []string
		for _, m := range r.History() {
			lines = append(lines, m.From+": "+m.Text)
		}
		fmt.Fprintf(out, "%s sees: %s\n", r.self, strings.Join(lines, " | "))
	}
	left := rooms[1]
	v, err := left.Leave(ctx)
	rooms = slices.Delete(rooms, 1, 2)
	if err != nil {
		return fmt.Errorf("%s: leave: %w", left.self, err)
	}
	for _, r := range rooms {
		if err := r.Catch(ctx, v, lastMessages); err != nil {
			return err
		}
		fmt.Fprintf(out, "after %s left, %s sees members %s\n", left.self, r.self, strings.Join(r.Members(), ","))
	}
	return nil
}
