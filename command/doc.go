// Package command is what the project knows about Redis and Valkey
// commands, in one table: where each command's keys are (so a command can
// be routed to its slot before it is sent), and its flags — read-only,
// write, blocking, connection state, pub/sub, and how a command that
// concerns every primary is fanned out and merged. The table holds every
// command of Redis 7.0 (checked against a real server's COMMAND GETKEYS and
// COMMAND INFO); Table.Learn reads the key specs of other commands (modules,
// newer servers) from COMMAND INFO. Every other package asks this table
// rather than keeping a list of command names of its own.
package command
