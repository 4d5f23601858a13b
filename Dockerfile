# The gateway image. Elasticsearch runs in its own container (see docker-compose.yml).
FROM python:3.11-slim

WORKDIR /app
# Exactly the locked runtime dependencies (`make lock` writes requirements.lock), each checked by its hash;
# nothing is resolved anew. The gateway itself runs from its source in /app.
COPY requirements.lock ./
RUN pip install --no-cache-dir --disable-pip-version-check --require-hashes --no-deps -r requirements.lock \
    && pip check
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY index_templates ./index_templates
COPY seed ./seed
# `gateway` on the PATH (as `pip install` would make it), for `docker compose exec gateway gateway ...`.
# seed/data is writable for `gateway seed load`, which builds the showcase SQLite database there.
RUN printf '#!/usr/local/bin/python\nimport sys\nfrom gateway.cli import main\nsys.exit(main())\n' \
        > /usr/local/bin/gateway && chmod 755 /usr/local/bin/gateway \
    && useradd --system --home /app gateway && mkdir -p /app/.state && chown gateway /app/.state /app/seed/data
USER gateway

ENV PYTHONPATH=/app GATEWAY_HOST=0.0.0.0 GATEWAY_PORT=8443 GATEWAY_STATE_DIR=/app/.state
EXPOSE 8443
HEALTHCHECK --interval=10s --timeout=3s --retries=12 \
  CMD python -c "import ssl,urllib.request as u; u.urlopen('https://127.0.0.1:8443/readyz', context=ssl._create_unverified_context(), timeout=2)"
CMD ["gateway", "serve"]
