// Package settle waits, for the examples, until a group has settled: one
// shard, one leader every member knows, and a full committee. Until then
// members may still run rival shards formed before they saw each other,
// and a write acknowledged by a shard that later loses to its rival is
// discarded, so the examples wait for it before they write.
package settle
