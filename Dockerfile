# syntax=docker/dockerfile:1
#
# docker build -t connect-user-operator:0.1.0 .
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/connect-user-operator:0.1.0 --push .

FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
# The cargo registry and target directory live in BuildKit cache mounts, so a source change
# rebuilds only the operator crate, not its dependencies. Only the release binary is built:
# no emulators (sim/ is a dev-dependency), no examples.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin connect-user-operator \
    && install -D -m 0755 target/release/connect-user-operator /out/connect-user-operator

# glibc, libgcc and CA certificates; no shell, no package manager; user 65532 (nonroot).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/connect-user-operator /connect-user-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/connect-user-operator"]
CMD ["run"]
