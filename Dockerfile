# champion for GitLab CI and any runner that takes an image: the package and its dependencies,
# `champion` as the entrypoint.
#
#   docker build -t champion .
#   docker run --rm -v "$PWD:/repo" -w /repo champion status
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
# git is the registry; champion shells out to it (and DVC to its own remotes).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
# A mounted repository belongs to another user; git refuses it unless told it is safe.
RUN git config --system --add safe.directory '*'
ENV DVC_NO_ANALYTICS=1 PYTHONUNBUFFERED=1
ENTRYPOINT ["champion"]
CMD ["--help"]
