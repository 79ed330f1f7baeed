// Package dockercheck holds only tests: they keep the Dockerfile, go.mod and
// docs/docker.md in agreement (Go version, build command, entrypoint, user, volumes,
// base image), since no Docker engine runs where the tests do.
package dockercheck
