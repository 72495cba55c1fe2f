# syntax=docker/dockerfile:1
#
# tenantctl as a small, static, non-root image.
#
#   docker build -t tenantctl .
#   docker run --rm -e DATABASE_URL=... tenantctl migrate
#   docker run --rm -p 8000:8000 -e DATABASE_URL=... -e SECRET_KEY=... tenantctl   # serve
#
# compose.yaml wires it to PostgreSQL (docker compose up).

ARG GO_VERSION=1.26

# --- build: a static binary (migrations, OpenAPI document and admin assets are
# embedded, so the binary is all the final image needs).
FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Use the Go of this image, never a downloaded toolchain.
ENV GOTOOLCHAIN=local
COPY . .
# The cache mounts keep downloaded modules and compiled packages between builds;
# only the modules the binary needs are fetched (not the dev tools in go.mod).
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/tenantctl ./cmd/tenantctl

# --- run: distroless static has CA certificates and tzdata and no shell; the
# :nonroot variant runs as uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tenantctl /tenantctl
USER nonroot:nonroot
ENV LISTEN_ADDR=:8000
EXPOSE 8000
ENTRYPOINT ["/tenantctl"]
CMD ["serve"]
