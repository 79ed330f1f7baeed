# syntax=docker/dockerfile:1
# deepres on NVIDIA GPUs through nvidia-container-toolkit; usage in docs/docker.md.
#
# Build stage: plain gcc is enough (cgo on, no CUDA SDK), because deepres loads the
# NVIDIA libraries with dlopen when it runs. Bookworm's glibc (2.36) is older than
# Ubuntu 24.04's (2.39), so the binary runs on the runtime image below.
# The Go version must match go.mod (internal/dockercheck tests it).
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Dependencies first, so that a source edit does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -o /out/deepres ./cmd/deepres

# Runtime stage: NVIDIA's image carries cuDNN 9, cuBLAS and NVRTC; the driver's
# libcuda.so.1 is not in it: nvidia-container-toolkit mounts the host's at
# `docker run --gpus all`. CUDA 12.9 needs a driver of the 575 series or newer
# (older 12.x drivers may work through CUDA's minor-version compatibility).
FROM nvidia/cuda:12.9.1-cudnn-runtime-ubuntu24.04

LABEL org.opencontainers.image.title="deepres" \
      org.opencontainers.image.description="Train very deep residual networks (ResNet, pre-activation ResNet, WRN, stochastic depth, RoR) on NVIDIA GPUs with cuDNN" \
      org.opencontainers.image.source="https://github.com/deepres/deepres" \
      org.opencontainers.image.documentation="https://github.com/deepres/deepres/blob/main/docs/docker.md"

# A fixed non-root user; /data (datasets) and /runs (checkpoints, logs) belong to it,
# so named volumes start out writable. For bind mounts see docs/docker.md (--user).
RUN groupadd --gid 10001 deepres \
    && useradd --uid 10001 --gid deepres --create-home --shell /usr/sbin/nologin deepres \
    && mkdir -p /data /runs \
    && chown deepres:deepres /data /runs

COPY --from=build /out/deepres /usr/local/bin/deepres

USER deepres
WORKDIR /runs
VOLUME ["/data", "/runs"]
ENTRYPOINT ["deepres"]
# With no arguments, show what deepres can run on: the first check of a new setup.
CMD ["devices"]
