# One Dockerfile for every service, built from the repository root:
#   docker build --build-arg SERVICE=router -t switchboard-router .
FROM python:3.11-slim AS build
RUN pip install --no-cache-dir uv
ARG SERVICE
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
RUN uv sync --frozen --no-dev --no-editable --package switchboard-${SERVICE}

FROM python:3.11-slim
ARG SERVICE
RUN useradd --uid 10001 --no-create-home switchboard
COPY --from=build /src/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH SERVICE=${SERVICE}
USER 10001
EXPOSE 8000
ENTRYPOINT ["sh", "-c", "exec switchboard-${SERVICE} \"$@\"", "--"]
CMD ["run"]
