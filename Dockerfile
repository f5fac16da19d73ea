# syntax=docker/dockerfile:1
# The offboard job image: one static binary on a distroless, non-root base.
# The same Go as the Makefile's GOTOOLCHAIN.
FROM golang:1.27.3 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/offboard ./cmd/offboard

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/offboard /usr/local/bin/offboard
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/offboard"]
CMD ["run"]
