#!/usr/bin/env python3
"""Wild configuration layouts (issue 12, batch 4): credentials as an
organisation's repositories hold them outside the framework files of
gen-configs.py - Kubernetes Secrets (stringData, base64 data) and ConfigMaps,
CI definitions (GitHub Actions, GitLab CI, Azure Pipelines, Jenkinsfile),
Dockerfile ENV / ARG and docker run -e, Terraform providers and *.auto.tfvars,
Packer / Vagrant, PowerShell SecureString / PSCredential, hard-coded database
passwords in C# / Java / Go / Python / JS / Ruby / PHP, Jupyter notebooks
(JSON-escaped source), .env / INI / TOML / HCL / properties with export / set /
setx, systemd Environment=, crontab, supervisord, nginx Basic auth, LDAP bind
(bindpw, olcRootPW, rootpw, sssd), Redis / Mongo / Postgres / MySQL server
and init files, CIFS credentials and fstab, wpa_supplicant and NetworkManager
PSKs, rclone, Grafana / Prometheus / Alertmanager, logstash / fluentd, Airflow,
dbt, Kafka JAAS, RabbitMQ, postfix sasl_passwd, Tomcat / JBoss / WebLogic /
IIS server files, defaults in env lookups - and decoys in the same layouts
(templates, references, env lookups, vault and server-encrypted values,
stand-ins, commented defaults, digests of nothing).

Secrets are drawn from a seeded generator; each is marked [[...]] in the
templates below and listed in expected.json (path, line, secret).

  corpus/gen-wild-configs.py OUT [SEED]        writes OUT/pos, OUT/decoy, OUT/expected.json
  corpus/gen-wild-configs.py --score REPORT.jsonl OUT
      prints 'found N/M' (a planted secret reported at its line), 'decoy hits N'
      and one MISS / DECOY line each."""
import base64, json, math, os, random, re, shutil, sys

LOWER, UPPER, DIGITS = "abcdefghjkmnpqrstuvwxyz", "ABCDEFGHJKLMNPQRSTUVWXYZ", "23456789"
SIGNS = "!#%*-_+"
WORDS = ["Harbor", "Falcon", "Granite", "Copper", "Meadow", "Orchid", "Thunder", "Willow",
         "Summit", "Lantern", "Cobalt", "Juniper", "Saffron", "Tundra", "Quartz", "Ember"]


def mk_secrets(rng):
    def strong(n=14):  # drawn: both cases, digits, one sign
        while True:
            s = [rng.choice(LOWER + UPPER + DIGITS) for _ in range(n)]
            s[rng.randrange(2, n - 1)] = rng.choice(SIGNS)
            v = "".join(s)
            if (any(c.islower() for c in v) and any(c.isupper() for c in v)
                    and sum(c.isdigit() for c in v) >= 2):
                return v

    def human():  # typed to pass a policy: Word + digits + sign
        return rng.choice(WORDS) + str(rng.randrange(10, 9999)) + rng.choice("!#%*")

    def tok(n=32):
        while True:
            v = "".join(rng.choice(LOWER + UPPER + DIGITS) for _ in range(n))
            if sum(c.isdigit() for c in v) >= 3 and any(c.isupper() for c in v):
                return v

    def hexs(n=40):
        return "".join(rng.choice("0123456789abcdef") for _ in range(n))

    def pw():
        return strong() if rng.random() < 0.6 else human()

    return pw, strong, human, tok, hexs


def b64(s):
    return base64.b64encode(s.encode()).decode()


def layouts(rng):
    pw, strong, human, tok, hexs = mk_secrets(rng)
    P = {}  # path -> text with [[secret]] marks
    D = {}  # decoy path -> text

    # ---- Kubernetes -----------------------------------------------------------
    P["k8s/db-secret.yaml"] = f"""apiVersion: v1
kind: Secret
metadata:
  name: orders-db
  namespace: orders
type: Opaque
stringData:
  DB_USER: orders
  DB_PASSWORD: "[[{pw()}]]"
"""
    v = strong(16)
    P["k8s/redis-secret.yaml"] = f"""apiVersion: v1
kind: Secret
metadata:
  name: redis-auth
type: Opaque
data:
  redis-password: [[{b64(v)}]]
"""
    P["k8s/app-configmap.yaml"] = f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: billing-config
data:
  SPRING_PROFILES_ACTIVE: prod
  SPRING_DATASOURCE_URL: jdbc:postgresql://pg.billing.svc:5432/billing
  SPRING_DATASOURCE_PASSWORD: "[[{pw()}]]"
"""
    P["k8s/worker-deployment.yaml"] = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  template:
    spec:
      containers:
        - name: worker
          image: registry.corp.lan/worker:2.4.1
          env:
            - name: QUEUE_HOST
              value: rabbitmq.queue.svc
            - name: QUEUE_PASSWORD
              value: "[[{pw()}]]"
"""
    P["k8s/kustomize/secret.env"] = f"""MONGO_INITDB_ROOT_USERNAME=root
MONGO_INITDB_ROOT_PASSWORD=[[{strong()}]]
"""
    # ---- CI ---------------------------------------------------------------------
    P[".github/workflows/deploy.yml"] = f"""name: deploy
on:
  push:
    branches: [main]
jobs:
  deploy:
    runs-on: ubuntu-latest
    env:
      DEPLOY_TOKEN: [[{tok(40)}]]
    steps:
      - uses: actions/checkout@v4
      - run: ./scripts/deploy.sh
"""
    P[".github/workflows/integration.yml"] = f"""name: integration
on: [pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    services:
      postgres:
        image: postgres:16
        env:
          POSTGRES_PASSWORD: [[{pw()}]]
        ports: ["5432:5432"]
    steps:
      - run: make test
"""
    P["ci/.gitlab-ci.yml"] = f"""stages: [test, deploy]
variables:
  MYSQL_DATABASE: shop
  MYSQL_ROOT_PASSWORD: "[[{pw()}]]"
test:
  stage: test
  services: [mysql:8.0]
  script: [make test]
"""
    P["ci/azure-pipelines.yml"] = f"""trigger: [main]
variables:
  - name: buildConfiguration
    value: Release
  - name: sqlAdminPassword
    value: '[[{pw()}]]'
steps:
  - script: dotnet build --configuration $(buildConfiguration)
"""
    P["ci/Jenkinsfile"] = f"""pipeline {{
    agent any
    environment {{
        NEXUS_USER = 'ci-deploy'
        NEXUS_PASSWORD = '[[{pw()}]]'
    }}
    stages {{
        stage('Publish') {{
            steps {{ sh './gradlew publish' }}
        }}
    }}
}}
"""
    P["ci/release/Jenkinsfile"] = f"""node {{
    stage('Smoke') {{
        sh "curl -fsS -u smoke:[[{strong()}]] https://staging.corp.lan/health"
    }}
}}
"""
    P["ci/bitbucket-pipelines.yml"] = f"""pipelines:
  default:
    - step:
        name: Test
        services: [postgres]
definitions:
  services:
    postgres:
      image: postgres:15
      variables:
        POSTGRES_DB: app
        POSTGRES_PASSWORD: '[[{pw()}]]'
"""
    # ---- containers -----------------------------------------------------------
    P["docker/db/Dockerfile"] = f"""FROM mysql:8.0
ENV MYSQL_DATABASE=inventory \\
    MYSQL_ROOT_PASSWORD=[[{pw()}]]
COPY schema.sql /docker-entrypoint-initdb.d/
"""
    P["docker/web/Dockerfile"] = f"""FROM node:20-alpine
ARG NPM_TOKEN=[[{tok(36)}]]
WORKDIR /app
COPY package*.json ./
RUN npm ci
"""
    P["docker/api/Dockerfile"] = f"""FROM python:3.12-slim
ENV APP_SECRET_KEY [[{tok(40)}]]
CMD ["gunicorn", "app:app"]
"""
    P["scripts/start-db.sh"] = f"""#!/bin/sh
docker run -d --name pg -p 5432:5432 \\
  -e POSTGRES_USER=app \\
  -e POSTGRES_PASSWORD=[[{pw()}]] \\
  postgres:16
"""
    P["docker/compose.override.yml"] = f"""services:
  api:
    environment:
      JWT_SECRET: "[[{tok(48)}]]"
      LOG_LEVEL: info
"""
    # ---- Terraform / Packer / Vagrant ---------------------------------------------
    P["terraform/providers.tf"] = f"""provider "postgresql" {{
  host     = "pg.corp.lan"
  port     = 5432
  username = "tf_admin"
  password = "[[{pw()}]]"
  sslmode  = "require"
}}
"""
    P["terraform/env/prod.auto.tfvars"] = f"""region      = "eu-west-1"
db_username = "app"
db_password = "[[{pw()}]]"
"""
    P["terraform/modules/rds/main.tf"] = f"""resource "aws_db_instance" "main" {{
  identifier        = "orders"
  engine            = "postgres"
  username          = "orders_admin"
  password          = "[[{pw()}]]"
  allocated_storage = 50
}}
"""
    P["terraform/grafana.tf"] = f"""provider "grafana" {{
  url  = "https://grafana.corp.lan"
  auth = "admin:[[{strong()}]]"
}}
"""
    P["packer/windows.pkr.hcl"] = f"""source "vsphere-iso" "win2022" {{
  communicator   = "winrm"
  winrm_username = "Administrator"
  winrm_password = "[[{pw()}]]"
}}
"""
    P["packer/ubuntu.json"] = f"""{{
  "builders": [{{
    "type": "qemu",
    "ssh_username": "packer",
    "ssh_password": "[[{pw()}]]",
    "ssh_timeout": "30m"
  }}]
}}
"""
    P["vagrant/Vagrantfile"] = f"""Vagrant.configure("2") do |config|
  config.vm.box = "generic/ubuntu2204"
  config.ssh.username = "deploy"
  config.ssh.password = "[[{pw()}]]"
end
"""
    # ---- PowerShell -----------------------------------------------------------
    P["ops/Connect-Prod.ps1"] = f"""$user = "CORP\\svc_deploy"
$secure = ConvertTo-SecureString "[[{pw()}]]" -AsPlainText -Force
$cred = New-Object System.Management.Automation.PSCredential($user, $secure)
Invoke-Command -ComputerName web01 -Credential $cred -ScriptBlock {{ iisreset }}
"""
    P["ops/Map-Share.ps1"] = f"""$cred = New-Object PSCredential("CORP\\backup", (ConvertTo-SecureString '[[{pw()}]]' -AsPlainText -Force))
New-PSDrive -Name B -PSProvider FileSystem -Root \\\\nas01\\backup -Credential $cred
"""
    P["ops/set-env.ps1"] = f"""$env:ARTIFACTORY_API_KEY = "[[{tok(64)}]]"
.\\publish.ps1
"""
    # ---- source code ----------------------------------------------------------
    P["src/dotnet/Data/Db.cs"] = f"""namespace Shop.Data;

public static class Db
{{
    private const string ConnStr = "Server=sql01.corp.lan;Database=Shop;User Id=shop_app;Password=[[{pw()}]];TrustServerCertificate=True";
}}
"""
    P["src/java/ReportDao.java"] = f"""package corp.reports;

import java.sql.*;

public class ReportDao {{
    private static final String DB_PASSWORD = "[[{pw()}]]";
}}
"""
    P["src/java/Mailer.java"] = f"""public class Mailer {{
    void init(java.util.Properties props) {{
        props.put("mail.smtp.password", "[[{pw()}]]");
    }}
}}
"""
    P["src/go/store.go"] = f"""package store

const dsn = "postgres://orders:[[{strong()}]]@pg.corp.lan:5432/orders?sslmode=disable"
"""
    P["src/go/config.go"] = f"""package config

var Default = Config{{
	Host:     "mq.corp.lan",
	User:     "worker",
	Password: "[[{pw()}]]",
}}
"""
    P["src/python/etl/db.py"] = f"""import psycopg2

DB_PASSWORD = "[[{pw()}]]"
"""
    P["src/python/etl/engine.py"] = f"""from sqlalchemy import create_engine

engine = create_engine("mysql+pymysql://etl:[[{strong()}]]@mysql.corp.lan:3306/warehouse")
"""
    P["src/node/db.js"] = f"""const {{ Pool }} = require('pg');

const pool = new Pool({{
  host: 'pg.corp.lan',
  user: 'web',
  password: '[[{pw()}]]',
  database: 'web',
}});
"""
    P["src/node/mailer.ts"] = f"""export const smtpConfig = {{
  host: "smtp.corp.lan",
  auth: {{
    user: "noreply",
    pass: "[[{strong()}]]",
  }},
}};
"""
    P["src/ruby/config/initializers/redis.rb"] = f"""$redis = Redis.new(host: "redis.corp.lan", password: "[[{pw()}]]")
"""
    P["src/php/db.php"] = f"""<?php
$dbPassword = '[[{pw()}]]';
$pdo = new PDO('mysql:host=db;dbname=shop', 'shop', $dbPassword);
"""
    P["src/python/settings_local.py"] = f"""DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "crm",
        "USER": "crm",
        "PASSWORD": "[[{pw()}]]",
        "HOST": "pg.corp.lan",
    }}
}}
"""
    P["src/python/app_defaults.py"] = f"""import os

DB_PASSWORD = os.environ.get("DB_PASSWORD", "[[{pw()}]]")
"""
    P["src/node/env-defaults.js"] = f"""const apiSecret = process.env.API_SECRET || "[[{tok(32)}]]";
module.exports = {{ apiSecret }};
"""
    P["src/java/resources/application-prod.yml"] = f"""spring:
  datasource:
    url: jdbc:mysql://mysql.corp.lan:3306/orders
    username: orders
    password: "[[{pw()}]]"
"""
    # ---- notebooks --------------------------------------------------------------
    nb_pw = strong()
    P["notebooks/explore.ipynb"] = json.dumps({
        "cells": [{"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [],
                   "source": ["import pandas as pd\n", "import sqlalchemy as sa\n",
                              f'engine = sa.create_engine("postgresql://analyst:[[{nb_pw}]]@warehouse.corp.lan/dw")\n']}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"
    P["notebooks/api.ipynb"] = json.dumps({
        "cells": [{"cell_type": "code", "metadata": {}, "execution_count": 2, "outputs": [],
                   "source": ["import requests\n", f'API_TOKEN = "[[{tok(40)}]]"\n',
                              'r = requests.get(URL, headers={"Authorization": f"Token {API_TOKEN}"})\n']}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"
    # ---- env / ini / toml / hcl / properties ------------------------------------
    P["deploy/.env.production"] = f"""NODE_ENV=production
export SESSION_SECRET=[[{tok(40)}]]
"""
    P["deploy/setenv.bat"] = f"""@echo off
set JAVA_OPTS=-Xmx2g
set DB_PASSWORD=[[{pw()}]]
"""
    P["deploy/setup.cmd"] = f"""setx API_TOKEN "[[{tok(32)}]]"
setx APP_ENV "prod"
"""
    P["deploy/app.ini"] = f"""[server]
port = 8080

[database]
host = pg.corp.lan
password = [[{pw()}]]
"""
    P["deploy/config.toml"] = f"""[database]
url = "postgres://pg.corp.lan/app"
user = "app"
password = "[[{pw()}]]"
"""
    P["deploy/nomad/api.nomad.hcl"] = f"""job "api" {{
  group "api" {{
    task "api" {{
      env {{
        DB_PASSWORD = "[[{pw()}]]"
      }}
    }}
  }}
}}
"""
    P["deploy/application.properties"] = f"""spring.mail.host=smtp.corp.lan
spring.mail.username=alerts
spring.mail.password=[[{pw()}]]
"""
    P["deploy/gradle.properties"] = f"""org.gradle.jvmargs=-Xmx2g
nexusUsername=ci
nexusPassword=[[{pw()}]]
"""
    # ---- system services ----------------------------------------------------------
    P["etc/systemd/system/api.service"] = f"""[Unit]
Description=API

[Service]
Environment="DB_PASSWORD=[[{pw()}]]"
ExecStart=/opt/api/bin/api
"""
    P["etc/systemd/system/worker.service"] = f"""[Service]
Environment=QUEUE_URL=amqp://mq.corp.lan
Environment=WORKER_API_KEY=[[{tok(32)}]]
ExecStart=/opt/worker/bin/worker
"""
    P["etc/cron.d/backup"] = f"""# nightly dump
30 2 * * * postgres PGPASSWORD=[[{pw()}]] pg_dump -h pg.corp.lan orders > /backup/orders.sql
"""
    P["etc/supervisor/conf.d/celery.conf"] = f"""[program:celery]
command=/opt/app/venv/bin/celery -A app worker
environment=BROKER_PASSWORD="[[{pw()}]]",APP_ENV="prod"
"""
    P["etc/nginx/conf.d/upstream-auth.conf"] = f"""location /internal/ {{
    proxy_pass http://backend;
    proxy_set_header Authorization "Basic [[{b64('svc_proxy:' + strong())}]]";
}}
"""
    P["etc/httpd/.htpasswd"] = f"""admin:[[$apr1${tok(8)}${tok(22)}]]
"""
    # ---- LDAP ---------------------------------------------------------------------
    P["etc/ldap.conf"] = f"""base dc=corp,dc=lan
uri ldap://ldap.corp.lan
binddn cn=proxy,ou=services,dc=corp,dc=lan
bindpw [[{pw()}]]
"""
    P["etc/nslcd.conf"] = f"""uid nslcd
gid nslcd
uri ldaps://ldap.corp.lan
binddn cn=nslcd,ou=services,dc=corp,dc=lan
bindpw [[{pw()}]]
"""
    P["etc/openldap/slapd.conf"] = f"""database mdb
suffix "dc=corp,dc=lan"
rootdn "cn=admin,dc=corp,dc=lan"
rootpw [[{pw()}]]
"""
    P["ldap/olc-root.ldif"] = f"""dn: olcDatabase={{1}}mdb,cn=config
changetype: modify
replace: olcRootPW
olcRootPW: [[{pw()}]]
"""
    P["etc/sssd/sssd.conf"] = f"""[domain/corp.lan]
id_provider = ldap
ldap_default_bind_dn = cn=sssd,ou=services,dc=corp,dc=lan
ldap_default_authtok = [[{pw()}]]
"""
    # ---- data stores ----------------------------------------------------------------
    P["etc/redis/redis.conf"] = f"""bind 0.0.0.0
port 6379
requirepass [[{strong(20)}]]
"""
    P["etc/redis/replica.conf"] = f"""replicaof redis-primary 6379
masterauth [[{strong(20)}]]
"""
    P["db/mongo-init.js"] = f"""db = db.getSiblingDB("app");
db.createUser({{ user: "app", pwd: "[[{pw()}]]", roles: [{{ role: "readWrite", db: "app" }}] }});
"""
    P["db/postgres/01-users.sql"] = f"""CREATE USER reporting WITH PASSWORD '[[{pw()}]]';
GRANT SELECT ON ALL TABLES IN SCHEMA public TO reporting;
"""
    P["db/mysql/01-users.sql"] = f"""CREATE USER 'app'@'%' IDENTIFIED BY '[[{pw()}]]';
GRANT ALL ON shop.* TO 'app'@'%';
"""
    P["db/pgbouncer/pgbouncer.ini"] = f"""[databases]
orders = host=pg.corp.lan port=5432 dbname=orders user=orders password=[[{pw()}]]
"""
    P["etc/rabbitmq/rabbitmq.conf"] = f"""default_user = admin
default_pass = [[{pw()}]]
"""
    # ---- file shares / network ----------------------------------------------------
    P["etc/samba/.smbcredentials"] = f"""username=svc_backup
password=[[{pw()}]]
domain=CORP
"""
    P["etc/fstab"] = f"""UUID=1b2c3d4e /  ext4 defaults 0 1
//nas01.corp.lan/share /mnt/share cifs username=svc_share,password=[[{strong()}]],uid=1000 0 0
"""
    P["etc/wpa_supplicant/wpa_supplicant.conf"] = f"""network={{
    ssid="CorpWLAN"
    psk="[[{strong()}]]"
    key_mgmt=WPA-PSK
}}
"""
    P["etc/NetworkManager/system-connections/Office.nmconnection"] = f"""[wifi]
ssid=Office

[wifi-security]
key-mgmt=wpa-psk
psk=[[{strong()}]]
"""
    P["etc/postfix/sasl_passwd"] = f"""[smtp.corp.lan]:587 relay@corp.lan:[[{strong()}]]
"""
    P["home/.config/rclone/rclone.conf"] = f"""[backup-s3]
type = s3
provider = Other
access_key_id = backupuser
secret_access_key = [[{tok(40)}]]
endpoint = https://s3.corp.lan
"""
    # ---- observability / data platforms ------------------------------------------
    P["etc/grafana/grafana.ini"] = f"""[security]
admin_user = admin
admin_password = [[{pw()}]]
"""
    P["etc/grafana/provisioning/datasources/pg.yaml"] = f"""apiVersion: 1
datasources:
  - name: Postgres
    type: postgres
    url: pg.corp.lan:5432
    user: grafana
    secureJsonData:
      password: "[[{pw()}]]"
"""
    P["etc/prometheus/prometheus.yml"] = f"""scrape_configs:
  - job_name: node
    basic_auth:
      username: prom
      password: [[{pw()}]]
    static_configs:
      - targets: ["node01:9100"]
"""
    P["etc/alertmanager/alertmanager.yml"] = f"""global:
  smtp_smarthost: smtp.corp.lan:587
  smtp_auth_username: alerts@corp.lan
  smtp_auth_password: '[[{pw()}]]'
"""
    P["etc/logstash/conf.d/out.conf"] = f"""output {{
  elasticsearch {{
    hosts => ["https://es.corp.lan:9200"]
    user => "logstash_writer"
    password => "[[{pw()}]]"
  }}
}}
"""
    P["etc/td-agent/td-agent.conf"] = f"""<match app.**>
  @type elasticsearch
  host es.corp.lan
  user fluentd
  password [[{pw()}]]
</match>
"""
    P["airflow/airflow.cfg"] = f"""[database]
sql_alchemy_conn = postgresql+psycopg2://airflow:[[{strong()}]]@pg.corp.lan/airflow
"""
    P["airflow/.env"] = f"""AIRFLOW_CONN_WAREHOUSE='postgres://etl:[[{strong()}]]@dw.corp.lan:5432/dw'
"""
    P["airflow/connections.json"] = f"""{{
  "warehouse": {{
    "conn_type": "postgres",
    "host": "dw.corp.lan",
    "login": "etl",
    "password": "[[{pw()}]]"
  }}
}}
"""
    P["dbt/profiles.yml"] = f"""analytics:
  target: prod
  outputs:
    prod:
      type: postgres
      host: dw.corp.lan
      user: dbt
      password: [[{pw()}]]
      dbname: analytics
"""
    P["kafka/client.properties"] = f"""security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="app" password="[[{strong()}]]";
"""
    P["kafka/kafka_server_jaas.conf"] = f"""KafkaServer {{
    org.apache.kafka.common.security.plain.PlainLoginModule required
    username="admin"
    password="[[{pw()}]]";
}};
"""
    # ---- Java / .NET servers -------------------------------------------------------
    P["tomcat/conf/tomcat-users.xml"] = f"""<?xml version="1.0" encoding="UTF-8"?>
<tomcat-users>
  <role rolename="manager-gui"/>
  <user username="deployer" password="[[{pw()}]]" roles="manager-gui,manager-script"/>
</tomcat-users>
"""
    P["tomcat/conf/context.xml"] = f"""<Context>
  <Resource name="jdbc/orders" auth="Container" type="javax.sql.DataSource"
            username="orders" password="[[{pw()}]]"
            driverClassName="org.postgresql.Driver" url="jdbc:postgresql://pg.corp.lan/orders"/>
</Context>
"""
    P["wildfly/standalone.xml"] = f"""<datasource jndi-name="java:jboss/datasources/OrdersDS" pool-name="OrdersDS">
    <connection-url>jdbc:postgresql://pg.corp.lan:5432/orders</connection-url>
    <security>
        <user-name>orders</user-name>
        <password>[[{pw()}]]</password>
    </security>
</datasource>
"""
    P["weblogic/servers/AdminServer/security/boot.properties"] = f"""username=weblogic
password=[[{pw()}]]
"""
    P["iis/applicationHost.config"] = f"""<configuration>
  <system.applicationHost>
    <applicationPools>
      <add name="Intranet">
        <processModel identityType="SpecificUser" userName="CORP\\svc_intranet" password="[[{pw()}]]" />
      </add>
    </applicationPools>
  </system.applicationHost>
</configuration>
"""
    P["hibernate/hibernate.cfg.xml"] = f"""<hibernate-configuration>
  <session-factory>
    <property name="hibernate.connection.username">hr</property>
    <property name="hibernate.connection.password">[[{pw()}]]</property>
  </session-factory>
</hibernate-configuration>
"""
    P["dotnet/appsettings.Production.json"] = f"""{{
  "Smtp": {{
    "Host": "smtp.corp.lan",
    "UserName": "noreply",
    "Password": "[[{pw()}]]"
  }}
}}
"""
    P["ansible/inventory/prod.ini"] = f"""[web]
web01 ansible_host=10.1.0.11

[web:vars]
ansible_user=deploy
ansible_password=[[{pw()}]]
"""
    P["ansible/roles/db/defaults/main.yml"] = f"""db_name: orders
db_user: orders
db_password: "[[{pw()}]]"
"""
    P["helm/values-prod.yaml"] = f"""postgresql:
  auth:
    username: app
    password: [[{pw()}]]
    postgresPassword: "[[{pw()}]]"
"""
    P["scripts/backup.sh"] = f"""#!/bin/bash
: "${{DB_PASSWORD:=[[{pw()}]]}}"
mysqldump -u backup -p"$DB_PASSWORD" shop > shop.sql
"""
    P["scripts/mirror.sh"] = f"""#!/bin/bash
lftp -u mirror,[[{strong()}]] sftp://files.corp.lan -e "mirror /pub /srv/pub; quit"
"""

    # ---- default and dictionary passwords in credential files ----------------------
    # Weak but real (a default, a word and digits, leetspeak, a typed run): reported in
    # credential and configuration files; the same values in docs and tests are decoys.
    def default():
        r = rng.random()
        if r < 0.25:  # leetspeak and digits: weak or not, as the guard reads it
            v = rng.choice(["p4ssw0rd", "s3cr3t", "adm1n", "r00t"]) + str(rng.randrange(1, 99))
            EITHER.add(v)
            return v
        elif r < 0.35:
            v = "1234567890"[:rng.randrange(6, 10)]
        else:
            v = rng.choice(["admin", "root", "guest", "secret", "password", "test", "postgres",
                            "letmein", "qwerty"]) + str(rng.randrange(1, 2030))
        WEAK.add(v)  # reported with the weak mark (confidence low)
        return v

    def either(v):  # a weak password inside a value (user:pw in base64, pw and signs)
        EITHER.add(v)
        return v

    P["home/ops/.netrc"] = f"""machine git.corp.lan
  login deploy
  password [[{default()}]]
machine files.corp.lan login mirror password [[{default()}]]
"""
    P["home/ops/.git-credentials"] = f"""https://deploy:[[{either(default() + "!#@" + str(rng.randrange(10, 999)))}]]@git.corp.lan
"""
    P["home/ops/.pgpass"] = f"""# hostname:port:database:username:password
db.corp.lan:5432:orders:orders:[[{default()}]]
"""
    P["home/ops/.esmtprc"] = f"""hostname mail.corp.lan:587
username "ops@corp.lan"
password "[[{default()}]]"
"""
    P["srv/app/.env.production"] = f"""APP_ENV=production
DB_HOST=db.corp.lan
DB_PASSWORD=[[{default()}]]
REDIS_PASSWORD=[[{default()}]]
"""
    P["srv/voice/server.ini"] = f"""[Server]
Name=voice
AdminPassword=[[{default()}]]
Password=[[{default()}]]
"""
    P["home/ops/.npmrc"] = f"""registry=https://npm.corp.lan/
_auth = [[{either(b64('ci:' + default()))}]]
"""
    P["backup/users.sql"] = "INSERT INTO `members` (`id`, `login`, `pw`, `active`) VALUES\n" + ",\n".join(
        f"({i}, 'user{i}', '[[$2y$10${''.join(rng.choice('./' + LOWER + UPPER + DIGITS) for _ in range(53))}]]', 1)"
        for i in range(1, 4)) + ";\n"
    def nss_sdr(n):  # Firefox's SDR: SEQUENCE { key id, { 3DES-CBC OID, IV }, ciphertext }
        body = bytes([4, 16, 0xf8] + [0] * 14 + [1]) + bytes.fromhex("301406082a864886f70d03070408") + \
            bytes(rng.randrange(256) for _ in range(8)) + bytes([4, n]) + bytes(rng.randrange(256) for _ in range(n))
        return base64.b64encode(bytes([0x30, len(body)]) + body).decode()

    P["home/ops/.mozilla/firefox/x1y2z3.default-release/logins.json"] = f"""{{
  "nextId": 3,
  "logins": [
    {{
      "id": 2,
      "hostname": "https://git.corp.lan",
      "usernameField": "login",
      "passwordField": "password",
      "encryptedUsername": "[[{nss_sdr(8)}]]",
      "encryptedPassword": "[[{nss_sdr(16)}]]",
      "encType": 1
    }}
  ]
}}
"""
    D["home/ops/.mozilla/firefox/empty.default/logins.json"] = """{"nextId": 1, "logins": [], "potentiallyVulnerablePasswords": [],
 "encryptedUsername": "", "version": 3}
"""
    P["scripts/cache-put.sh"] = f"""#!/bin/sh
curl -k -X POST https://cache.corp.lan:11222/rest/v2/caches/default/hello \\
  -H 'Content-type: text/plain' \\
  -d 'world' \\
  -u developer:[[{strong()}]]
curl --user ops:'[[{strong()}]]' -X PATCH https://api.corp.lan/v1/items/7
"""
    # an API framework's Token scheme (Django REST framework's TokenAuthentication)
    P["scripts/trigger-build.sh"] = f"""#!/bin/sh
curl -fsS -X POST \\
  -H "Authorization: Token [[{hexs(40)}]]" \\
  https://ci.corp.lan/api/v2/builds/
"""
    D["scripts/trigger-build-ci.sh"] = """#!/bin/sh
curl -fsS -X POST -H "Authorization: Token $CI_API_TOKEN" https://ci.corp.lan/api/v2/builds/
curl -fsS -H 'Authorization: Token <your-api-token>' https://ci.corp.lan/api/v2/me/
"""
    D["scripts/health.sh"] = """#!/bin/sh
curl -fsS https://api.corp.lan/health
ssh -u deploy:notcurl host
curl -u "$CACHE_USER:$CACHE_PASSWORD" \\
  https://cache.corp.lan/
"""
    D["docs/install.md"] = """Set the database password in `.env`:

    DB_PASSWORD=admin123
    machine git.corp.lan login deploy password root2024
"""
    D["tests/fixtures/.env"] = """DB_PASSWORD=p4ssw0rd1
REDIS_PASSWORD=123456
"""
    D["templates/server.ini"] = """[Server]
AdminPassword=admin123
"""
    D["srv/app/.env.example"] = """DB_PASSWORD=secret123
"""

    # ---- passwords of letters alone -------------------------------------------------
    # A made-up word (two syllable runs, 9-13 letters, no repeated-letter lull) is a
    # weak password where a client's or a service's configuration holds it, under a
    # password's name; the same in source code unquoted (an identifier), in docs, a
    # translation's label (Password=Wachtwoord) and the key's own word are not.
    def word():
        while True:
            v = "".join(rng.choice("bcdfghjklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randrange(5, 7)))
            v = v[:rng.randrange(9, 12)]
            ent = -sum(v.count(c) / len(v) * math.log2(v.count(c) / len(v)) for c in set(v))
            if ent >= 3.05:  # the generic rule's entropy floor (3 bits a letter)
                WEAK.add(v)
                return v

    P["home/ops/.config/dbclient/connections.json"] = f"""{{
  "connections": [
    {{
      "name": "orders",
      "host": "db.corp.lan",
      "userName": "orders",
      "userPassword": "[[{word()}]]",
      "readOnly": false
    }}
  ]
}}
"""
    P["srv/mail/relay.ini"] = f"""[relay]
host = smtp.corp.lan
smtp_password = [[{word()}]]
"""
    P["srv/app/config/settings.yml"] = f"""cache:
  host: redis.corp.lan
  redis_password: [[{word()}]]
"""
    D["srv/app/settings.py"] = f"""EMAIL_HOST = "smtp.corp.lan"
EMAIL_HOST_PASSWORD = {word()}
"""
    D["docs/mail.md"] = f"""Set the relay's password in relay.ini:

    smtp_password = {word()}
"""
    D["srv/app/locale/messages_nl.properties"] = """Username=Gebruikersnaam
Password=Wachtwoord
"""
    D["srv/app/config/labels.yml"] = """login:
  password: password
  confirm_password: Password
"""

    # ---- batch 5 (recall, issues 12/13): more layouts as they occur in the wild ----
    # Drawn from their own generator (seeded from rng's state without advancing it), so
    # the layouts above keep their values.
    r5 = random.Random(rng.getstate()[1][0])
    pw5, strong5, _, tok5, _ = mk_secrets(r5)

    def fernet():  # 32 bytes, URL-safe base64
        return base64.urlsafe_b64encode(bytes(r5.randrange(256) for _ in range(32))).decode()

    def lull():  # letters alone that repeat (entropy under 3 bits a letter): weak
        while True:
            v = "".join(r5.choice("bcdfgklmnprst") + r5.choice("aeiou") for _ in range(5))[:r5.randrange(8, 10)]
            v = v[:3] + v[1] + v[3:]  # a letter again
            ent = -sum(v.count(c) / len(v) * math.log2(v.count(c) / len(v)) for c in set(v))
            if ent < 3.0:
                WEAK.add(v)
                return v

    P["home/ops/.config/sftp/sftp-config.json"] = f"""{{
    "type": "sftp",
    "host": "files.corp.lan",
    "user": "deploy",
    "passphrase": "[[{lull()}]]",
    "remote_path": "/srv/www/"
}}
"""
    P["srv/voip/murmur.ini"] = f"""[server]
port=64738
serverpassword=[[{lull()}]]
"""
    P["airflow/docker-compose.yaml"] = f"""x-airflow-common:
  environment:
    AIRFLOW__CORE__EXECUTOR: CeleryExecutor
    AIRFLOW__CORE__FERNET_KEY: '[[{fernet()}]]'
"""
    P["airflow/README.md"] = f"""Start the scheduler:

```console
docker run -d --name airflow -e AIRFLOW__CORE__FERNET_KEY=[[{fernet()}]] -e AIRFLOW__CORE__LOAD_EXAMPLES=False apache/airflow scheduler
```
"""
    P["airflow/k8s/scheduler.yaml"] = f"""        env:
          - name: AIRFLOW__CORE__FERNET_KEY
            value: "[[{fernet()}]]"
"""
    P["svc/orders/store/db.go"] = f"""package store

const dsn = "orders:[[{strong5()}]]@tcp(db.corp.lan:3306)/orders?parseTime=true"
"""
    P["home/ops/.bash_history"] = f"""cd /srv/orders
mysql -h db.corp.lan -u root -p'[[{strong5()}]]' orders
exit
"""
    P["svc/api/appsettings.Staging.json"] = f"""{{
  "Logging": {{ "LogLevel": {{ "Default": "Information" }} }},
  "IdentityPayload": "{{\\"client_id\\": \\"orders-api\\", \\"client_secret\\": \\"[[{tok5(34)}]]\\"}}"
}}
"""
    # command lines with a password flag (shell history, runbooks, CI steps)
    P["ops/runbooks/restore.sh"] = f"""#!/bin/sh
ldapsearch -x -H ldaps://ldap.corp.lan -D "cn=svc-backup,ou=svc,dc=corp,dc=lan" -w '[[{strong5()}]]' -b ou=people,dc=corp,dc=lan uid
redis-cli -h cache.corp.lan -p 6380 -a [[{tok5(20)}]] --tls FLUSHDB
mongodump --uri mongodb://db.corp.lan:27017 -u backup -p '[[{strong5()}]]' --out /backup/mongo
keytool -importkeystore -srckeystore app.p12 -srcstoretype PKCS12 -srcstorepass [[{tok5(14)}]] -destkeystore app.jks
openssl pkcs12 -export -in tls.crt -inkey tls.key -out tls.p12 -passout pass:[[{tok5(16)}]]
"""
    P[".azure-pipelines/steps/login.sh"] = f"""az login --service-principal -u 6d2f8a1c-3b7e-4c9d-a5f1-0e8b2c4d6a7f -p '[[{tok5(34)}]]' --tenant corp.onmicrosoft.com
"""
    D["ops/runbooks/restore-template.sh"] = """#!/bin/sh
ldapsearch -x -H ldaps://ldap.corp.lan -D "$BIND_DN" -W -b ou=people,dc=corp,dc=lan uid
ldapsearch -x -D "$BIND_DN" -w "$BIND_PW" -b ou=people,dc=corp,dc=lan uid
redis-cli -h cache.corp.lan -a "$REDIS_PASSWORD" ping
mongosh "$MONGO_URI" -u backup -p
keytool -importcert -alias corp-ca -file ca.crt -keystore cacerts -storepass changeit -noprompt
keytool -list -keystore app.jks -storepass:env KEYSTORE_PASSWORD
openssl pkcs12 -in tls.p12 -passin env:P12_PASSWORD -nodes
az login --service-principal -u "$ARM_CLIENT_ID" -p "$ARM_CLIENT_SECRET" --tenant "$ARM_TENANT_ID"
"""
    D["ops/runbooks/deploy-sql-template.cmd"] = """@echo off
net use \\\\files.corp.lan\\deploy /user:CORP\\svc_deploy * /persistent:no
sqlcmd -S sql01.corp.lan -U deploy -P %SQL_PASSWORD% -i migrate.sql
"""
    D["airflow/config/airflow.cfg.j2"] = """[core]
fernet_key = {{ airflow_fernet_key }}
"""
    D["airflow/.env.sample"] = """AIRFLOW__CORE__FERNET_KEY=${FERNET_KEY}
"""
    D["svc/orders/store/dsn.go"] = """package store

func dsn(c Config) string {
	return fmt.Sprintf("%s:%s@tcp(%s:%d)/%s", c.User, c.Password, c.Host, c.Port, c.DB)
}

const testDSN = "root:@tcp(127.0.0.1:3306)/test"
"""
    D["docs/api/connect.json"] = """{
  "host": "db.corp.lan",
  "password": "&lt;YOUR_DB_PASSWORD&gt;"
}
"""
    D["web/redirects.json"] = """{
"/account/reset-your-password":"/en/docs@v2/account/reset"
}
"""
    seqtok = tok5(10) + "ABCDEFGHIJKL" + tok5(6)
    D["srv/notify/config.yml"] = f"""notify:
  api_secret: {seqtok}
"""
    D["docs/dbclient.md"] = f"""Connections live in connections.json:

    "userPassword": "{lull()}"
"""
    D["srv/app/local_settings.py"] = f"""DATABASES_PASSWORD = {lull()}
"""

    # ---- decoys (no secret) -------------------------------------------------------
    D["k8s/secret-template.yaml"] = """apiVersion: v1
kind: Secret
metadata:
  name: orders-db
stringData:
  DB_PASSWORD: "${DB_PASSWORD}"
  API_TOKEN: <your-api-token>
"""
    D["k8s/secret-default.yaml"] = f"""apiVersion: v1
kind: Secret
metadata:
  name: demo
data:
  password: {b64('changeme')}
  username: {b64('admin')}
"""
    D[".github/workflows/deploy.yml"] = """jobs:
  deploy:
    runs-on: ubuntu-latest
    env:
      DEPLOY_TOKEN: ${{ secrets.DEPLOY_TOKEN }}
      DB_PASSWORD: ${{ secrets.DB_PASSWORD }}
"""
    D["ci/.gitlab-ci.yml"] = """deploy:
  variables:
    REGISTRY_PASSWORD: $CI_REGISTRY_PASSWORD
  script:
    - docker login -u "$CI_REGISTRY_USER" -p "$CI_REGISTRY_PASSWORD" $CI_REGISTRY
"""
    D["ci/azure-pipelines.yml"] = """variables:
  - group: prod-secrets
steps:
  - script: ./deploy.sh --password $(sqlAdminPassword)
    env:
      SQL_PASSWORD: $(sqlAdminPassword)
"""
    D["ci/Jenkinsfile"] = """pipeline {
    agent any
    stages {
        stage('Publish') {
            steps {
                withCredentials([usernamePassword(credentialsId: 'nexus', usernameVariable: 'NEXUS_USER', passwordVariable: 'NEXUS_PASSWORD')]) {
                    sh './gradlew publish -PnexusPassword=$NEXUS_PASSWORD'
                }
            }
        }
    }
}
"""
    D["docker/Dockerfile"] = """FROM node:20-alpine
ARG NPM_TOKEN
ENV DB_PASSWORD_FILE=/run/secrets/db_password
RUN --mount=type=secret,id=npm,target=/root/.npmrc npm ci
"""
    D["scripts/start-db.sh"] = """#!/bin/sh
docker run -d -e POSTGRES_PASSWORD="$PGPASSWORD" -e POSTGRES_USER=app postgres:16
"""
    D["terraform/main.tf"] = """resource "aws_db_instance" "main" {
  username = var.db_username
  password = random_password.db.result
}
provider "postgresql" {
  password = data.aws_secretsmanager_secret_version.pg.secret_string
}
"""
    D["terraform/example.auto.tfvars"] = """db_password = ""
api_token   = "REPLACE_ME"
"""
    D["ops/Connect-Prod.ps1"] = """$secure = ConvertTo-SecureString $env:DEPLOY_PASSWORD -AsPlainText -Force
$pw = Read-Host -AsSecureString "Password"
$cred = New-Object PSCredential($user, $pw)
"""
    D["src/Db.cs"] = """var cs = string.Format("Server={0};Database=Shop;User Id={1};Password={2};", host, user, pw);
var cs2 = $"Server={host};Password={password};";
"""
    D["src/ReportDao.java"] = """Connection c = DriverManager.getConnection(url, user, System.getenv("DB_PASSWORD"));
props.put("mail.smtp.password", smtpPassword);
"""
    D["notebooks/explore.ipynb"] = json.dumps({
        "cells": [{"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [],
                   "source": ["import getpass\n", "password = getpass.getpass()\n",
                              'engine = create_engine(f"postgresql://analyst:{password}@dw/dw")\n']}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"
    D[".env.example"] = """DB_PASSWORD=changeme
API_TOKEN=<your-api-token>
SESSION_SECRET=
"""
    D["etc/systemd/system/api.service"] = """[Service]
EnvironmentFile=/etc/api/env
Environment=DB_PASSWORD_FILE=/run/credentials/api.service/db
LoadCredential=db:/etc/api/db-password
"""
    D["etc/redis/redis.conf"] = """# requirepass foobared
# masterauth <master-password>
port 6379
"""
    D["etc/ldap.conf"] = """binddn cn=proxy,dc=example,dc=com
#bindpw secret
"""
    D["etc/wpa_supplicant.conf"] = """network={
    ssid="CorpWLAN"
    psk="YOUR_WIFI_PASSWORD"
}
"""
    D["etc/grafana/grafana.ini"] = """[security]
admin_user = admin
admin_password = $__env{GF_ADMIN_PASSWORD}
;admin_password = admin
"""
    D["etc/prometheus/prometheus.yml"] = """scrape_configs:
  - job_name: node
    basic_auth:
      username: prom
      password_file: /etc/prometheus/node.pw
"""
    D["etc/logstash/out.conf"] = """output {
  elasticsearch {
    user => "logstash_writer"
    password => "${ES_PASSWORD}"
  }
}
"""
    D["dbt/profiles.yml"] = """analytics:
  outputs:
    prod:
      type: postgres
      user: dbt
      password: "{{ env_var('DBT_PASSWORD') }}"
"""
    D["hibernate.cfg.xml"] = """<property name="hibernate.connection.password">${jdbc.password}</property>
"""
    D["tomcat/tomcat-users.xml"] = """<tomcat-users>
<!--
  <user username="admin" password="<must-be-changed>" roles="manager-gui"/>
  <user username="robot" password="<must-be-changed>" roles="manager-script"/>
-->
</tomcat-users>
"""
    D["wildfly/standalone.xml"] = """<security>
    <user-name>sa</user-name>
    <password>sa</password>
</security>
<credential-reference store="ds-store" alias="orders-pw"/>
<password>${VAULT::ds_Orders::password::1}</password>
"""
    D["ansible/group_vars/all/vault.yml"] = """db_password: !vault |
          $ANSIBLE_VAULT;1.1;AES256
          62313365396662343061393464336163383764373764613633653634306231386433626436623361
          6131643837306565343664383836353236646430346530620a353865613334346538653761613864
"""
    D["checksums.txt"] = """password_sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
secret_md5 = d41d8cd98f00b204e9800998ecf8427e
"""
    D["weblogic/boot.properties"] = """username={AES256}Xq9Lm2Vr7Tz4Kw1Pb8Hs5Jd3Fg6Nc0Ya2QeRt7Uo4Ip=
password={AES256}Kd8Wv3Lx7Rz2Tm9PHs4NqB6Fj1Ge5Cy0Ua8Io3Pz=
"""
    D["iis/applicationHost.config"] = """<processModel identityType="SpecificUser" userName="CORP\\svc" password="[enc:IISCngProvider:Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV6cXV6:enc]" />
"""
    D["docs/setup.md"] = """Set the database password in `.env`:

    DB_PASSWORD=<your-password>

and the Redis one with `requirepass your_redis_password`.
"""
    D["etc/supervisor/conf.d/app.conf"] = """[program:app]
environment=DB_PASSWORD="%(ENV_DB_PASSWORD)s"
"""
    D["kafka/client.properties"] = """sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="app" password="${file:/opt/kafka/secrets.properties:password}";
"""
    D["etc/fstab"] = """//nas01/share /mnt/share cifs credentials=/etc/samba/.smbcredentials,uid=1000 0 0
"""
    D["src/app_defaults.py"] = """DB_PASSWORD = os.environ.get("DB_PASSWORD", "")
API_TOKEN = os.getenv("API_TOKEN")
"""
    D["db/init.sql"] = """CREATE USER reporting WITH PASSWORD :'reporting_password';
CREATE USER 'app'@'%' IDENTIFIED BY '${MYSQL_APP_PASSWORD}';
"""
    D["config/application.properties"] = """spring.datasource.password=ENC(G6N718UuyPE5bHyWKyuLQSm02auQPUtm)
spring.mail.password=${MAIL_PASSWORD:}
"""
    # Seen in rails' and spring-boot's trees (precision review, 2026-11-28):
    # Rails' CSRF form token, a template's user/password pair named after one
    # thing, the word password with a counter in a test's URL, Ruby code
    # (interpolation, instance variables, a scope's constant), typed sequences,
    # a token alphabet's ranges, made-up phrases, a Java class on the next line.
    csrf = tok(64) + "-" + tok(20)
    D["app/views/orders/_form.html.erb"] = f"""<form action="/orders" accept-charset="UTF-8" method="post">
  <input type="hidden" name="authenticity_token" value="{csrf}" autocomplete="off">
</form>
"""
    D["log/development.log"] = f"""Processing by OrdersController#create as HTML
  Parameters: {{"authenticity_token"=>"{tok(64)}==", "order"=>{{"qty"=>"1"}}}}
ParseError: unexpected token at 'authenticity_token={tok(12)}&_method=put&utf8=%26%239731%3B'
"""
    D["docs/database.md"] = """# A second database for the cache store:
#   CACHE_DATABASE_URL="postgres://cacheuser:cachepass@localhost/cachedatabase"
#   QUEUE_DATABASE_URL="mysql2://queue_user:queue_pass@localhost/queue"
"""
    D["src/test/java/com/acme/BrokerPropertiesTests.java"] = """class BrokerPropertiesTests {
    void addresses() {
        props.setAddresses(List.of("amqp://root:password@otherhost", "amqps://root:password2@otherhost2"));
        props.setUrl("redis://user::pass:word@example:33");
        ConnectionFactoryOptions.parse("r2dbc:postgresql://user-1:password-1@postgres.internal:12345/database-1");
    }
    String header() {
        String token = Base64Utils
                .encodeToString((this.username + ":" + this.password).getBytes(UTF_8));
        return token;
    }
}
"""
    D["src/test/resources/registry/config.json"] = f"""{{
  "auths": {{
    "https://index.docker.io/v1/": {{ "auth": "{b64('username:password')}" }},
    "custom-registry.internal": {{ "auth": "{b64('customUser:customPass')}" }}
  }}
}}
"""
    D["app/models/digest_algo.rb"] = """class DigestAlgo < ActiveModel::SecurePassword::Base
  def struct_pass
    @value_struct_pass = @method_params
  end
  CACHE = { url: "redis://:#{cache_password}@cache-1:6379/0" }
  GRANT = "GRANT ALL ON *.* TO 'app'@'localhost' IDENTIFIED BY '#{config['password']}';"
end
"""
    D["test/token_test.rb"] = """class TokenTest < ActiveSupport::TestCase
  test "sequences" do
    new_secret_key = "987654321"
    ENV["RAILS_MASTER_KEY"] = "00112233445566778899aabbccddeeff"
    assert_parses({ "token" => "azAZ09 /=" }, "token=azAZ09+/=")
    app.config.secret_token = 'ThisIsATOKENvalue9'
    self.cookie_verifier_secret = "thisISverySECRET123"
  end
  # shared:
  #   api_key: a1B2c3D4e5F6
  #   secret_access_key: ZYXCBA987543210
end
"""
    # Left from the first review: field names joined by ':' (man 5 group), a C
    # string's "\\n" after a stand-in in help text, a sentence in a passphrase.
    D["vendor/user/lookup.go"] = """	// see: man 5 group
	//  group_name:password:GID:user_list
"""
    D["src/tool_help.c"] = """  "        curl --krb4 private ftp://krb.internal -u username:fakepwd\\n"
"""
    D["maven/settings.xml"] = """<settings>
  <servers>
    <server>
      <id>siteServer</id>
      <privateKey>/path/to/private/key</privateKey>
      <passphrase>optional; leave empty if not used.</passphrase>
    </server>
  </servers>
</settings>
"""
    D["docs/storage.md"] = """Point the service at a bucket:

    s3://access_key_id:secret_access_key@us-east-1/your-bucket
"""
    # Third review (Azure DevOps tasks, Bicep modules, Helm values, PHP apps,
    # PowerShell help, Jenkins): translations of the word password, validation
    # rules, ARM and Bicep expressions, a type name printed as a password, a
    # host:port before '@', a credential named by a word, ABNF, described
    # stand-ins.
    D["lang/es/validation.php"] = """<?php
return [
    'attributes' => [
        'password' => 'contrase\u00f1a',
    ],
];
"""
    D["src/main/resources/jenkins/login_pl.properties"] = """User=U\u017cytkownik
Password=Has\u0142o
"""
    D["src/main/resources/jenkins/login_sv.properties"] = "Password=L\u00f6senord\n"
    D["Tasks/CopyV2/Strings/resources.resjson/es-ES/resources.resjson"] = """{
  "loc.input.label.adminPassword": "Contrase\u00f1a",
  "loc.input.label.adminUserName": "Usuario"
}
"""
    D["app/Http/Controllers/Auth/RegisterController.php"] = """<?php
        return Validator::make($data, [
            'email' => 'required|string|email|max:255|unique:users',
            'password' => 'required|string|min:8|confirmed',
            'db_password' => 'nullable|string',
            'new_password' => 'required|regex:/^[0-9]{6}$/',
        ]);
"""
    D["avm/res/api/main.json"] = """{
  "parameters": {
    "clientSecret": {
      "value": "[tryGet(coalesce(parameters('providers'), createArray())[copyIndex()], 'clientSecret')]"
    },
    "servicePrincipalSecret": {
      "value": "[parameters('servicePrincipalSecret')]"
    }
  }
}
"""
    D["avm/res/wan/main.bicep"] = """module hub 'hub.bicep' = {
  params: {
    credentials: registryConnectionOAuth2Type
    adminSecret: clusterParameters.?p2sProfile.?adminSecret
  }
}
"""
    D["docs/help/Security-Help.xml"] = """<dev:code>PS C:\\&gt; Invoke-Command -ComputerName Server01 {Get-Credential Domain01\\User01}

UserName           : Domain01\\User01
Password           : System.Security.SecureString</dev:code>
"""
    D["tests/UrlValidation.test.ts"] = """const rejected = [
    'https://cdn.mirror.org:443@evil.net',
];
"""
    D["tests/factories.py"] = f"""objs = create_fixtures(
    credential='cred1',
    network_credential='fortigate{rng.randint(10, 99)}',
)
"""
    D["notes/rfc-auth.txt"] = """   The token is opaque to the client:

      token       = 1*64VCHAR
"""
    D["charts/registry/values.yaml"] = """storage:
  azure:
    accountname: accountname
    accountkey: base64encodedaccountkey
"""
    D["Tests/Init.ps1"] = """$encrypted = ConvertTo-SecureString "test credential" -AsPlainText -Force
"""
    D["docs/mirrors.txt"] = """ftp mirror.lan
login: anonymous
password: your@address
"""
    D["Tests/TestConstants.ts"] = """export const settingsXml = `<settings>
  <servers>
    <server>
      <id>feed1</id>
      <username>feeduser</username>
      <password>token</password>
    </server>
  </servers>
</settings>`;
export const indexUrl = `https://feeduser:token@pkgs.internal/simple/`;
"""
    D["docs/phones.php"] = f"""<?php
/**
 * @see http://portal.gov.invalid/Portal/page.do?org.apache.struts.taglib.html.TOKEN={rng.getrandbits(128):032x}&item=1794
 */
"""
    # Third review, histories: a connection string's one-letter stand-in in a
    # template literal, runtime expressions, words standing for a token, a
    # setting's state, nullable Bicep types, a prompt ending in ':', a form
    # body's next field, a Latin-1 translation, an error code's name, the URL
    # syntax's optional part, a sequence down and up.
    D["Tasks/SqlDeployV1/Tests/L0.ts"] = """const c1 = new SqlConnectionConfig(`Server=${host};Database=db;User Id=sa;Password=p`);
const c2 = `Server=t.database.windows.net;Database=d;User Id=u;Password='my''pass'`;
"""
    D["ci/canary-tests.yml"] = """variables:
  - name: feedToken
    value: $[dependencies.get_token.outputs['token.FEEDTOKEN']]
"""
    D["docs/feeds.md"] = """Check the index URL carries credentials: `https://build:TOKEN@pkgs.internal/simple/`
"""
    D["src/feedclient.ts"] = """// turns https://dev.azure.com/org into https://:pat@dev.azure.com
"""
    D["Tests/mock_utils.ts"] = """{
  "CustomConnectionString": {
    "value": "custom_connection_value",
    "type": "Custom"
  }
}
"""
    D["avm/res/dashboard/README.md"] = """```json
    "apiKey": {
      "value": "Enabled"
    },
```
"""
    D["avm/res/app/job/main.bicep"] = """@description('''
{
  "name": "mysecret",
  "value": "mysecretvalue"
}
''')
param secrets object = {}
type taskType = {
  credentials: credentialsType?
  aadOrApiKey: aadOrApiKeyType?
}
"""
    D["vendor/dotenv/lib/main.js"] = """  // example: DOTENV_KEY="dotenv://:key_2345@vault.lan/vault/.env.vault?environment=prod"
"""
    D["test/Credential.Tests.ps1"] = """        $th.ui.Streams.Prompt[-1] | should be "Credential:CustomTitle:"
"""
    D["src/main/resources/hudson/advanced_es.properties"] = b"Port=Puerto\nPassword=Contrase\xf1a\n"
    D["src/screens/Project.helptext.js"] = """  sourceHelp: t`GIT read only protocol (git://) does not use username or
            password information.`}
"""
    D["vendor/pg/errorcodes.py"] = """INVALID_PASSWORD = '28P01'
"""
    D["vendor/redis/client.py"] = """        For example::

            redis://[:password]@localhost:6379/0
"""
    D["vendor/redis/tests/test_pool.py"] = """        pool = redis.ConnectionPool.from_url('redis://:mypassword@localhost')
"""
    D["ui/src/api/Root.test.js"] = """      'username=foo&password=bar&next=%2Fapi%2Fv2%2Fconfig%2F'
"""
    D["ui/test/e2e/fixtures.js"] = """            notification_configuration: {
                token: '54321GFEDCBAABCDEFG12345',
            }
"""
    # Fourth review (.NET Aspire, Go microservices with vendored AWS CLI docs,
    # a Node starter, Django, notebooks): a tool's encrypted secret state
    # (salt-prefixed values), a colour under "pass", the user name Google's
    # registries take, an API model's regex, status and sequence tokens,
    # HTML-escaped slots, a camelCase name for a default, AWS's EXAMPLE ids.
    A32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    salt = "".join(rng.choice(B64[:62]) for _ in range(16))
    enc = lambda n: salt + "".join(rng.choice(B64) for _ in range(n)) + "="
    D["src/Shop.AppHost/aspirate-state.json"] = f"""{{
  "projectPath": ".",
  "secrets": {{
    "salt": "{salt}",
    "hash": "{''.join(rng.choice(B64) for _ in range(43))}=",
    "secrets": {{
      "redis-password": {{
        "value": "{enc(51)}"
      }},
      "postgres": {{
        "POSTGRES_PASSWORD": "{enc(51)}"
      }}
    }}
  }}
}}
"""
    D["integration-tests/robot/report.html"] = """<script type="text/javascript">
window.settings = {"background":{"fail":"#f66","pass":"#9e9","skip":"#fed84f"},"logURL":"log.html"};
</script>
"""
    D[".github/workflows/push.yml"] = """    - name: Authenticate with Artifact Registry
      run: gcloud auth print-access-token | docker login -u -p oauth2accesstoken --password-stdin https://europe-docker.pkg.dev
"""
    D["vendor/awscli/botocore/data/metrics/service-2.json"] = """    "SecretArn":{
      "type":"string",
      "max":256,
      "pattern":"arn:([a-z\\\\d-]+):.*:.*:secret:ShopMetricsConnector-.+"
    },
"""
    seq = "".join(rng.choice("0123456789") for _ in range(56))
    stat = "".join(rng.choice(B64) for _ in range(84)) + "="
    D["vendor/awscli/examples/logs/put-log-events.rst"] = f"""Each later call passes the sequence token the previous call returned::

  aws logs put-log-events --log-group-name app --log-stream-name s1 --log-events file://events2 --sequence-token "{seq}"
"""
    D["vendor/awscli/examples/opsworkscm/describe-node-association-status.rst"] = f"""  aws opsworks-cm describe-node-association-status --server-name "automate-06" --node-association-status-token "{stat}"

Output::

  {{
   "NodeAssociationStatusToken": "{stat[:80]}"
  }}
"""
    key_id = "ASIA" + "".join(rng.choice(A32) for _ in range(9)) + "EXAMPLE"
    D["vendor/awscli/examples/sts/get-session-token.rst"] = f"""    {{
        "Credentials": {{
            "AccessKeyId": "{key_id}",
            "Expiration": "2026-11-28T19:53:52Z"
        }}
    }}
"""
    D["public/index.html"] = """<li><code>db: 'mongodb://&lt;dbuser&gt;:&lt;dbpassword&gt;@db.example.internal:27479/&lt;dbname&gt;'</code></li>
"""
    D["config/secrets.js"] = """module.exports = {
  mandrill: {
    user: process.env.MANDRILL_USER || 'someone@mail.invalid',
    password: process.env.MANDRILL_PASSWORD || 'generatedApiKey'
  }
};
"""
    return P, D


MARK = re.compile(r"\[\[(.*?)\]\](?!\])")
WEAK = set()  # planted values that are weak passwords as a whole (default())
EITHER = set()  # planted values a weak mark is neither required nor wrong on


def write(out, seed):
    rng = random.Random(seed)
    P, D = layouts(rng)
    if os.path.exists(out): shutil.rmtree(out)
    expected = []
    for kind, files in (("pos", P), ("decoy", D)):
        for rel, text in files.items():
            path = os.path.join(out, kind, rel)
            if isinstance(text, bytes):  # bytes as they are (a Latin-1 file)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as fh:
                    fh.write(text)
                continue
            lines = text.split("\n")
            for ln, line in enumerate(lines, 1):
                for m in MARK.finditer(line):
                    expected.append({"path": os.path.join(kind, rel), "line": ln, "secret": m.group(1),
                                     "weak": None if m.group(1) in EITHER else m.group(1) in WEAK})
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", newline="", encoding="utf-8") as fh:
                fh.write(MARK.sub(lambda m: m.group(1), text))
    with open(os.path.join(out, "expected.json"), "w") as fh:
        json.dump(expected, fh, indent=1)
    print(f"{len(expected)} secrets in {len(P)} files, {len(D)} decoy files")


def score(report, out):
    exp = json.load(open(os.path.join(out, "expected.json")))
    occ = []
    for l in open(report):
        if not l.strip(): continue
        r = json.loads(l)
        for o in r["occurrences"]:
            p = o.get("path", "")
            i = p.find("/pos/") if "/pos/" in p else p.find("/decoy/")
            occ.append((p[i + 1:] if i >= 0 else p, o.get("line"), r["rule"], r.get("secret", ""),
                        r.get("weak", False) and r.get("confidence") == "low"))
    found, miss, marked, wrong = 0, [], 0, []
    for e in exp:
        hits = [w for p, ln, _, s, w in occ
                if p == e["path"] and ln == e["line"] and s and (s in e["secret"] or e["secret"] in s)]
        if hits:
            found += 1
            marked += hits[0]
            if e.get("weak", False) is not None and hits[0] != e.get("weak", False): wrong.append(e)
        else:
            miss.append(e)
    decoys = [o for o in occ if o[0].startswith("decoy/")]
    print(f"found {found}/{len(exp)}")
    print(f"decoy hits {len(decoys)}")
    print(f"weak marks {marked}, {len(wrong)} wrong")
    for m in miss: print(f"MISS {m['path']}:{m['line']}")
    for w in wrong: print(f"WEAKMARK {w['path']}:{w['line']} planted weak={w.get('weak', False)}")
    for d in decoys: print(f"DECOY {d[0]}:{d[1]} {d[2]}")


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--score":
        score(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 2:
        write(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    else:
        sys.exit(__doc__)
