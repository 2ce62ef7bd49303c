# syntax=docker/dockerfile:1
# Hoist's container image: one image for `hoist api` and `hoist worker` (deploy/aws/hoist.yaml runs both).
#
#   docker build -t hoist .
#   docker run --rm -p 8080:8080 -e HOIST_AUTH=oidc -e HOIST_OIDC_ISSUER=… -e HOIST_OIDC_AUDIENCES=… hoist api
#   docker run --rm -e HOIST_SQS_QUEUE_URL=… hoist worker
#
# Configuration is the README's HOIST_* variables. The image listens on 0.0.0.0:8080, keeps its data
# folder in /var/lib/hoist and runs as the unprivileged user `hoist` (uid 10001).

# --- build: a release `hoist`, the Swift runtime linked in statically --------------------------------
FROM swift:6.3-bookworm AS build

# GRDB builds against the system SQLite.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsqlite3-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
# The build folder is a BuildKit cache between builds; the binary is copied out of it.
RUN --mount=type=cache,target=/src/.build \
    swift build -c release --product hoist --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/hoist" /out/hoist

# --- runtime: slim Debian, libvips for the worker's thumbnails, a non-root user ------------------------
FROM debian:bookworm-slim

# libvips-tools: vipsthumbnail and vips (HOIST_VIPSTHUMBNAIL); libsqlite3-0: GRDB; ca-certificates:
# HTTPS to S3, SQS, the OIDC issuer's JWKS; tzdata for Foundation's time zones. Versions follow
# Debian 12's security updates, so they are not pinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libvips-tools libsqlite3-0 ca-certificates tzdata libstdc++6 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 hoist \
    && useradd --system --uid 10001 --gid hoist --home-dir /var/lib/hoist --shell /usr/sbin/nologin hoist \
    && install -d -o hoist -g hoist -m 0750 /var/lib/hoist

COPY --from=build /out/hoist /usr/local/bin/hoist

ENV HOIST_DATA=/var/lib/hoist \
    HOIST_API_HOST=0.0.0.0 \
    HOIST_API_PORT=8080
USER 10001:10001
WORKDIR /var/lib/hoist
EXPOSE 8080
ENTRYPOINT ["hoist"]
CMD ["api"]
