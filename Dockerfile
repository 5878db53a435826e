FROM python:3.11-slim
# A Unicode font covering Japanese for invoice PDFs (IPAGothic; fonts-noto-cjk works too).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-ipafont-gothic fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schema schema
COPY resolvers resolvers
COPY db db
COPY policies policies
COPY cost cost
COPY captable captable
COPY cli cli
# /srv/roundpool/cost-store exists and belongs to roundpool in the image, so an empty named volume mounted there
# starts with that ownership (docker-compose.yml shares it between the API and the workers).
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/roundpool roundpool \
    && mkdir -p /var/lib/roundpool /srv/roundpool/cost-store /srv/roundpool/reports \
    && chown roundpool /var/lib/roundpool /srv/roundpool/cost-store
USER roundpool
ENV ROUNDPOOL_HOME=/var/lib/roundpool ROUNDPOOL_COST_STORE=/srv/roundpool/cost-store
EXPOSE 8000
CMD ["roundpool", "serve", "--host", "0.0.0.0", "--port", "8000"]
