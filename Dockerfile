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
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/roundpool roundpool \
    && mkdir -p /var/lib/roundpool && chown roundpool /var/lib/roundpool
USER roundpool
ENV ROUNDPOOL_HOME=/var/lib/roundpool
EXPOSE 8000
CMD ["roundpool", "serve", "--host", "0.0.0.0", "--port", "8000"]
