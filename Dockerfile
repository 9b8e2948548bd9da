# syntax=docker/dockerfile:1
# credential-report-exporter in a small image that runs as non-root.
#   docker build -t credential-report-exporter .
#   docker run --rm -p 9877:9877 -v "$PWD/examples/reports:/reports:ro" credential-report-exporter
# The final image is distroless (glibc and nothing else: no shell, no package manager)
# with the one binary; it runs as distroless's `nonroot` user (65532).

FROM docker.io/library/rust:1-bookworm AS build
WORKDIR /src
COPY . .
# Cached registry and target folders make rebuilds incremental (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin credential-report-exporter \
    && install -D -m 0755 target/release/credential-report-exporter /out/credential-report-exporter

# Same Debian release as the build stage, so the binary finds the glibc it was linked with.
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="credential-report-exporter" \
      org.opencontainers.image.description="Prometheus exporter for cloud credential reports (AWS IAM, Alibaba Cloud RAM, Tencent Cloud CAM), with a fetcher" \
      org.opencontainers.image.source="https://github.com/credential-report-exporter/credential-report-exporter" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/credential-report-exporter /usr/local/bin/credential-report-exporter
USER 65532:65532
EXPOSE 9877
# Mount the reports at /reports (read-only is enough), or pass --report.dir.
ENTRYPOINT ["/usr/local/bin/credential-report-exporter"]
CMD ["--report.dir=/reports"]
