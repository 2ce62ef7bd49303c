/// The API's OpenAPI 3.1 document, served at `/openapi.yaml`.
///
/// The text is the same as `Sources/HoistServer/openapi.yaml` (the file the CI
/// validates and schemathesis reads); a test keeps the two identical. It is
/// compiled in, so an installed binary needs no resource bundle.
enum OpenAPIDocument {
    static let yaml = #"""
openapi: 3.1.0
info:
  title: Hoist upload API
  version: 0.1.0
  summary: Pre-signed URLs that send image uploads straight to S3-compatible storage.
  description: |
    A signed-in client asks for an upload URL (`POST /upload-url`), then sends the bytes straight to
    object storage with one `PUT` carrying exactly the headers the response lists. The file never
    passes through this API.

    Every error is JSON, `{"error":{"code":"…","message":"…"}}` (see `Error`), with the status that
    fits: 400 malformed request, 401 no or bad token (with `WWW-Authenticate: Bearer`), 403 not your
    article, 404 no such article, 413 over the size limit or a request body over 16 KiB, 415 type not
    allowed, 429 too many requests (with `Retry-After`), 503 the issuer's keys or the storage
    credentials are unavailable.

    Tokens are JWTs (RS256 or ES256) of the configured issuer: the built-in dev issuer of
    `hoist serve` (`hoist token NAME`), Amazon Cognito, or any OpenID Connect issuer.
  license:
    name: Proprietary
    identifier: LicenseRef-Proprietary
servers:
  - url: http://127.0.0.1:8080
    description: hoist serve / hoist api, default address
security:
  - bearerAuth: []
tags:
  - name: uploads
    description: Upload and download URLs, and the records of issued uploads.
  - name: service
    description: Health, metrics, policy and this document.
  - name: identity
    description: The built-in dev issuer's documents (HOIST_AUTH=dev only).
paths:
  /upload-url:
    post:
      tags: [uploads]
      operationId: createUploadURL
      summary: Issue a pre-signed PUT URL for a new image.
      description: |
        Checks the token, the rate limit, and the policy (allowed types, `size` required and at most
        the size limit, `articleId` owned by the caller or new), picks the key
        `articles/<articleId>/raw/<uuid>.<ext>`, records an upload intent (status `pending`), and
        returns a SigV4 pre-signed PUT that binds `Content-Type`, `Content-Length`,
        `If-None-Match: *` and, when given, `x-amz-checksum-sha256`.

        Without a body (the original Lambda's request) the upload goes to a new article as
        `image/jpeg`. Unknown JSON fields are ignored; bodies over 16 KiB are refused (413).
      requestBody:
        required: false
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/UploadURLRequest'
            examples:
              png:
                value: {contentType: image/png, size: 123456}
              withArticleAndChecksum:
                value:
                  contentType: image/jpeg
                  size: 276
                  articleId: 7bd85742-2128-47d8-9611-f9a177bae4be
                  checksumSHA256: x9NnvQErYCZkIvKnEktCjnZDi+/yAv/fGxoQ/zioCDw=
      responses:
        '200':
          description: The URL and the headers the PUT must carry.
          headers:
            Cache-Control:
              schema: {type: string, const: no-store}
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/UploadURLResponse'
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '413': {$ref: '#/components/responses/ContentTooLarge'}
        '415': {$ref: '#/components/responses/UnsupportedMediaType'}
        '429': {$ref: '#/components/responses/TooManyRequests'}
        '503': {$ref: '#/components/responses/ServiceUnavailable'}
  /download-url:
    get:
      tags: [uploads]
      operationId: createDownloadURL
      summary: Issue a pre-signed GET URL for an object of one of the caller's articles.
      parameters:
        - name: key
          in: query
          required: true
          description: The object key, `articles/<articleId>/…`, of an article the caller owns.
          schema:
            type: string
            minLength: 1
          example: articles/7bd85742-2128-47d8-9611-f9a177bae4be/raw/c303aabd-32a9-4425-abfb-054a013b17d4.jpg
      responses:
        '200':
          description: The URL (default lifetime 300 s).
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/DownloadURLResponse'
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '503': {$ref: '#/components/responses/ServiceUnavailable'}
  /articles/{articleId}/uploads:
    get:
      tags: [uploads]
      operationId: listArticleUploads
      summary: The caller's uploads in one of their articles, oldest first.
      parameters:
        - name: articleId
          in: path
          required: true
          schema:
            type: string
            format: uuid
      responses:
        '200':
          description: The uploads.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/ArticleUploads'
        '400': {$ref: '#/components/responses/BadRequest'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '403': {$ref: '#/components/responses/Forbidden'}
        '404': {$ref: '#/components/responses/NotFound'}
        '503': {$ref: '#/components/responses/ServiceUnavailable'}
  /policy:
    get:
      tags: [service]
      operationId: getPolicy
      summary: The upload policy, so a client can check a file before asking for a URL.
      security: []
      responses:
        '200':
          description: The policy in force.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Policy'
  /healthz:
    get:
      tags: [service]
      operationId: getHealth
      summary: Liveness.
      security: []
      responses:
        '200':
          description: The server is up.
          content:
            application/json:
              schema:
                type: object
                required: [status]
                properties:
                  status:
                    type: string
                    const: ok
  /metrics:
    get:
      tags: [service]
      operationId: getMetrics
      summary: Prometheus metrics (text exposition format 0.0.4).
      description: |
        Includes `hoist_upload_url_requests_total{outcome="issued"|<error code>}`,
        `hoist_upload_url_duration_seconds` (histogram) and `hoist_rate_limited_total`.
      security: []
      responses:
        '200':
          description: The metrics.
          content:
            text/plain:
              schema:
                type: string
  /openapi.yaml:
    get:
      tags: [service]
      operationId: getOpenAPIDocument
      summary: This document.
      security: []
      responses:
        '200':
          description: The OpenAPI 3.1 document of the API.
          content:
            application/yaml:
              schema:
                type: string
  /.well-known/jwks.json:
    get:
      tags: [identity]
      operationId: getJWKS
      summary: The dev issuer's public keys (JSON Web Key Set, RFC 7517).
      description: Served only with the built-in dev issuer (HOIST_AUTH=dev).
      security: []
      responses:
        '200':
          description: The key set.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/JWKS'
  /.well-known/openid-configuration:
    get:
      tags: [identity]
      operationId: getOpenIDConfiguration
      summary: The dev issuer's OpenID Connect discovery document.
      description: Served only with the built-in dev issuer (HOIST_AUTH=dev).
      security: []
      responses:
        '200':
          description: The discovery document.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/OpenIDConfiguration'
  /dev/token:
    post:
      tags: [identity]
      operationId: createDevToken
      summary: A one-hour token of the dev issuer for a user (development only).
      description: |
        Served only with the built-in dev issuer (HOIST_AUTH=dev), for the web page's sign-in button
        and for trying the API. Never present with Cognito or another OIDC issuer.
      security: []
      parameters:
        - name: user
          in: query
          required: false
          description: The token's subject (default `dev`); 1–128 letters, digits, `-`, `_`, `.` or `@`
            (the server also takes non-ASCII letters and digits).
          schema:
            type: string
            pattern: '^[A-Za-z0-9._@-]{1,128}$'
            default: dev
      responses:
        '200':
          description: The token.
          content:
            application/json:
              schema:
                type: object
                required: [token, user]
                properties:
                  token:
                    type: string
                    description: A compact JWS (RS256).
                  user:
                    type: string
        '400': {$ref: '#/components/responses/BadRequest'}
components:
  securitySchemes:
    bearerAuth:
      type: http
      scheme: bearer
      bearerFormat: JWT
      description: |
        `Authorization: Bearer <JWT>`. The issuer's keys come from its JWKS URL; the algorithm is
        pinned by the key (RS256 or ES256); `iss`, `exp`/`nbf`/`iat` (60 s leeway), the audience (or
        Cognito's `token_use` and client id) and `sub` are checked. The user is `sub`.
  headers:
    WWW-Authenticate:
      description: The bearer challenge (RFC 6750), e.g. `Bearer realm="hoist", error="invalid_token"`.
      schema:
        type: string
    Retry-After:
      description: Seconds until the next URL can be issued to this user.
      schema:
        type: integer
        minimum: 1
  responses:
    BadRequest:
      description: A malformed request (`invalid_request`).
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    Unauthorized:
      description: No token, or a token that does not verify (`missing_token`, `malformed_token`,
        `invalid_signature`, `unknown_key`, `algorithm_not_allowed`, `token_expired`,
        `token_not_yet_valid`, `wrong_issuer`, `wrong_audience`, `wrong_token_use`).
      headers:
        WWW-Authenticate: {$ref: '#/components/headers/WWW-Authenticate'}
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    Forbidden:
      description: The article or object belongs to another user (`forbidden`).
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    NotFound:
      description: No such article (`not_found`).
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    ContentTooLarge:
      description: The declared size is over the limit, or the request body is over 16 KiB (`payload_too_large`).
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    UnsupportedMediaType:
      description: The content type is not an allowed image type (`unsupported_media_type`).
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    TooManyRequests:
      description: The per-user rate limit on URL issuance was hit (`rate_limited`).
      headers:
        Retry-After: {$ref: '#/components/headers/Retry-After'}
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    ServiceUnavailable:
      description: The issuer's keys could not be fetched (`jwks_unavailable`) or the storage
        credentials have expired (`credentials_expired`).
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
  schemas:
    Error:
      type: object
      description: The error envelope of every failure.
      required: [error]
      properties:
        error:
          type: object
          required: [code, message]
          properties:
            code:
              type: string
              description: |
                Stable and machine-readable: `invalid_request`, `missing_token`, `malformed_token`,
                `invalid_signature`, `unknown_key`, `algorithm_not_allowed`, `token_expired`,
                `token_not_yet_valid`, `wrong_issuer`, `wrong_audience`, `wrong_token_use`,
                `jwks_unavailable`, `forbidden`, `not_found`, `payload_too_large`,
                `unsupported_media_type`, `rate_limited`, `credentials_expired`, `internal_error`.
              examples: [unsupported_media_type]
            message:
              type: string
              description: Human-readable, safe to show; never contains the token.
      example:
        error:
          code: unsupported_media_type
          message: "The type 'image/svg+xml' is not allowed; allowed: image/avif, image/gif, image/jpeg, image/png, image/webp."
    UploadURLRequest:
      type: object
      description: Unknown fields are ignored.
      required: [size]
      properties:
        contentType:
          type: string
          description: An allowed image type (GET /policy; default image/jpeg, image/png, image/webp,
            image/gif, image/avif). Compared case-insensitively. Default `image/jpeg`.
          default: image/jpeg
          examples: [image/png]
        size:
          type: integer
          minimum: 1
          maximum: 10485760
          description: The exact number of bytes that will be uploaded; at most the policy's
            `maximumSize` (GET /policy; the maximum here is the default, 10 MiB, which HOIST_MAX_SIZE
            changes). Bound into the URL as `Content-Length`. Required whenever a body is sent.
        articleId:
          type: string
          format: uuid
          description: An article of the caller's; a new UUID creates the article for the caller.
            Omitted, a new article is made.
        checksumSHA256:
          type: string
          contentEncoding: base64
          pattern: '^[A-Za-z0-9+/]{43}=$'
          description: The base64 of the file's 32-byte SHA-256, bound into the URL as `x-amz-checksum-sha256`.
    UploadURLResponse:
      type: object
      required: [uploadUrl, key, articleId, expiresIn, expiresAt, method, headers]
      properties:
        uploadUrl:
          type: string
          format: uri
          description: The pre-signed PUT URL.
        key:
          type: string
          description: '`articles/<articleId>/raw/<uuid>.<ext>`'
          pattern: '^articles/[0-9a-f-]{36}/raw/[0-9a-f-]{36}\.[a-z0-9]+$'
        articleId:
          type: string
          format: uuid
        expiresIn:
          type: integer
          minimum: 1
          maximum: 604800
          description: Seconds the URL is valid (default 900, clamped to what the signing credentials have left).
        expiresAt:
          type: string
          format: date-time
        method:
          type: string
          const: PUT
        headers:
          type: object
          description: Every header the PUT must carry for the signature to hold.
          required: [Content-Type, If-None-Match]
          properties:
            Content-Type: {type: string}
            Content-Length: {type: string, pattern: '^[0-9]+$'}
            If-None-Match: {type: string, const: '*'}
            x-amz-checksum-sha256: {type: string}
          additionalProperties: {type: string}
    DownloadURLResponse:
      type: object
      required: [downloadUrl, key, expiresIn, expiresAt]
      properties:
        downloadUrl:
          type: string
          format: uri
        key:
          type: string
        expiresIn:
          type: integer
          minimum: 1
          maximum: 604800
        expiresAt:
          type: string
          format: date-time
    ArticleUploads:
      type: object
      required: [articleId, uploads]
      properties:
        articleId:
          type: string
          format: uuid
        uploads:
          type: array
          items:
            type: object
            required: [key, contentType, issuedAt, status]
            properties:
              key: {type: string}
              contentType: {type: string}
              size:
                type: integer
                minimum: 1
                description: The declared size (absent for a body-less request).
              issuedAt:
                type: string
                format: date-time
              status:
                type: string
                enum: [pending, uploaded, verified, processed, rejected, expired]
                description: >-
                  `pending` until storage reports the object; `uploaded` when it has; `verified` once its
                  bytes were checked against the declared type, size and checksum; `processed` when the
                  derived images exist; `rejected` (see `reason`; the object is moved to `quarantine/`);
                  `expired` when no upload came before the URL expired.
              reason:
                type: string
                description: Why the upload was rejected.
              width: {type: integer, minimum: 1}
              height: {type: integer, minimum: 1}
              uploadedAt:
                type: string
                format: date-time
              processedAt:
                type: string
                format: date-time
              derived:
                type: object
                description: Derived images by name (`thumbnail`, `web`), each with a pre-signed GET URL.
                additionalProperties:
                  type: object
                  required: [key, url]
                  properties:
                    key: {type: string}
                    url: {type: string, format: uri}
    Policy:
      type: object
      required: [allowedTypes, maximumSize, uploadURLExpiry]
      properties:
        allowedTypes:
          type: array
          items: {type: string}
        maximumSize:
          type: integer
          minimum: 1
        uploadURLExpiry:
          type: integer
          minimum: 1
          maximum: 604800
    JWKS:
      type: object
      required: [keys]
      properties:
        keys:
          type: array
          items:
            type: object
            required: [kty, kid]
            properties:
              kty: {type: string, enum: [RSA, EC]}
              use: {type: string}
              alg: {type: string}
              kid: {type: string}
              n: {type: string}
              e: {type: string}
              crv: {type: string}
              x: {type: string}
              y: {type: string}
    OpenIDConfiguration:
      type: object
      required: [issuer, jwks_uri]
      properties:
        issuer: {type: string, format: uri}
        jwks_uri: {type: string, format: uri}
        response_types_supported:
          type: array
          items: {type: string}
        subject_types_supported:
          type: array
          items: {type: string}
        id_token_signing_alg_values_supported:
          type: array
          items: {type: string}
        claims_supported:
          type: array
          items: {type: string}

"""#
}
