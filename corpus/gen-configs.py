#!/usr/bin/env python3
"""Recall/precision corpus for ferret's configuration-credential families
(patterns/connection-strings.yml, dotfiles.yml, frameworks.yml): from a seed,
fake credentials written into files as people write them — several layouts per
format, strong and weak-but-real passwords (Winter2024!, hunter2), passwords
holding '@', ':' and %-escapes — and, for every format, decoys: placeholders in
every template syntax, secret-store references, env lookups, empty values,
documentation values and URLs without userinfo.

Writes OUT/tree/... and OUT/expected.json: for every planted secret its family,
kind, file, line and the rule ids allowed to report it (the structure it came
from); every other finding is a decoy hit.

  corpus/gen-configs.py OUT [--seed N] [--per-kind K]
"""
import argparse
import base64
import json
import os
import random
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakes as F  # noqa: E402

WEAK_WORDS = ["Winter", "Summer", "Autumn", "Spring", "Dragon", "Monkey", "Sunshine", "Shadow",
              "Falcon", "Hunter", "Rocket", "Orange", "Purple", "Buster", "Harley"]


POLICY_LEET = ["P@ssw0rd", "Passw0rd", "P@55w0rd", "Welc0me", "Adm1n@", "S3cur1ty", "M0nkey"]


def weak(rng):
    """A weak password of the kind people really use: a word, digits, maybe a symbol,
    or leetspeak typed to pass a complexity policy (P@ssw0rd1)."""
    if rng.random() < 0.15:
        return rng.choice(POLICY_LEET) + rng.choice(["", "1", "!", "2024", "123"])
    w = rng.choice(WEAK_WORDS)
    w = w.lower() if rng.random() < 0.3 else w
    return w + str(rng.choice([1, 2, 7, 12, 99, 123, 2023, 2024, 2025])) + rng.choice(["", "!", "#", "$", "?"])


DEFAULT_WORDS = ["admin", "root", "guest", "postgres", "mysql", "secret", "password", "test", "letmein",
                 "qwerty"]
DEFAULT_LEET = ["p4ssw0rd", "s3cr3t", "adm1n", "r00t", "l3tm31n"]


def default_pw(rng):
    """A default or dictionary password (admin123, p4ssw0rd, 12345678): what attackers try
    first, reported in credential and configuration files, a stand-in anywhere else."""
    r = rng.random()
    if r < 0.2:
        return rng.choice(DEFAULT_LEET) + rng.choice(["", "1", "99"])
    if r < 0.3:
        return "123456789"[:rng.randint(6, 9)]
    return rng.choice(DEFAULT_WORDS) + str(rng.choice([1, 12, 123, 2024, 1234, 99]))


def default_password(rng):
    p, u, h = default_pw(rng), user(rng), rng.choice(["git.corp.internal", "ftp.corp.internal", "db01"])
    form = rng.randrange(7)
    if form == 0:
        return ["APP_ENV=production", f"DB_HOST={h}", f"DB_PASSWORD={p}"], p, ".env", ["config.password-assignment"]
    if form == 1:
        return [f"machine {h} login {u} password {p}"], p, ".netrc", ["netrc.password"]
    if form == 2:
        return ["# hostname:port:database:username:password", f"{h}:5432:orders:{u}:{p}"], p, ".pgpass", ["pgpass.password"]
    if form == 3:
        return ["[server]", "Name=voice", f"AdminPassword={p}", "Port=3784"], p, "server.ini", ["config.password-assignment"]
    if form == 4:
        return [f"https://{u}:{p}@{h}"], p, ".git-credentials", ["url.userinfo-password"]
    if form == 5:
        return ["<data-sources>", f"  <connection host=\"{h}\" port=\"5432\" user=\"{u}\" password=\"{p}\"/>",
                "</data-sources>"], p, "data-sources.xml", ["config.xml-password"]
    return ["{", f"  \"host\": \"{h}\",", f"  \"user\": \"{u}\",", f"  \"password\": \"{p}\",",
            "  \"port\": 22", "}"], p, "sftp-config.json", ["config.password-assignment"]


def strong(rng, n=None):
    return F.password(rng, n or rng.randint(12, 22))


def pw(rng):
    return weak(rng) if rng.random() < 0.4 else strong(rng)


def pw_plain(rng):
    """A password without characters that need quoting or escaping anywhere."""
    return F.rand(rng, F.ALNUM, rng.randint(10, 18)) + rng.choice(["1", "7", "42"])


def host(rng):
    return rng.choice(["db01", "sql-prod", "pg.internal", "mysql.corp.internal", "10.20.0.15",
                       "orders-db.cluster-c1x2.eu-west-1.rds.amazonaws.com", "contoso-sql.database.windows.net"])


def user(rng):
    return rng.choice(["app", "svc_orders", "deploy", "ci-bot", "reporting", "backup", "jenkins", "etl"])


def b64(s):
    return base64.b64encode(s.encode()).decode()


def crlf(lines):
    """The file written with Windows line ends (each line then ends in CR)."""
    return [l + "\r" for l in lines]


def spaced(rng):
    """A quoted password with spaces, as people write passphrases in .env and dotfiles."""
    return " ".join(F.rand(rng, "abcdefghijkmnpqrstuvwxyz", 4) for _ in range(3)) + " " + str(rng.randint(1, 99))


# Every generator returns (lines, needle, filename, rules): needle is the text of
# the secret as the file holds it (its first line is the expected line). A file
# holding more than one credential returns a list of (needle, rules) instead.

# ---- connection strings and URLs ------------------------------------------------

def ado_net(rng):
    p = pw(rng)
    u, h = user(rng), host(rng)
    r = ["conn.ado-net-password"]
    form = rng.randrange(6)
    if form == 0:
        cs = f"Server=tcp:{h},1433;Initial Catalog=orders;Persist Security Info=False;User ID={u};Password={p};MultipleActiveResultSets=False;Encrypt=True;"
        return ["{", "  \"Logging\": { \"LogLevel\": { \"Default\": \"Information\" } },", "  \"ConnectionStrings\": {",
                f"    \"DefaultConnection\": \"{cs}\"", "  },", "  \"AllowedHosts\": \"*\"", "}"], p, "appsettings.Production.json", r
    if form == 1:
        cs = f"Data Source={h};Initial Catalog=Shop;User Id={u};Password={p};"
        return ["<?xml version=\"1.0\" encoding=\"utf-8\"?>", "<configuration>", "  <connectionStrings>",
                f"    <add name=\"ShopDb\" connectionString=\"{cs}\" providerName=\"System.Data.SqlClient\" />",
                "  </connectionStrings>", "</configuration>"], p, "web.config", r
    if form == 2:  # braces quote a value holding ';' (an alphanumeric {Word} is a template)
        p = (p if not all(c.isalnum() or c == "%" for c in p) else p[:4] + ";" + p[4:]).replace("}", "}}")
        return ["[ODBC Data Sources]", "Reports=ODBC Driver 18 for SQL Server", "",
                f"; used by the nightly export", f"CONN=DSN=Reports;UID={u};PWD={{{p}}};"], p, "odbc-export.ini", r
    if form == 3:
        return [f"ConnectionStrings__Orders=Host={h};Port=5432;Database=orders;Username={u};Password={p}"], p, ".env", r
    if form == 4:
        q = p + ";x" if rng.random() < 0.5 else p
        return ["using Microsoft.Data.SqlClient;", "", "static class Db", "{",
                f"    const string Conn = \"Password='{q}';User ID={u};Server={h};Database=hr\";", "}"], q, "Db.cs", r
    if rng.random() < 0.3:  # StackExchange.Redis: endpoint, then comma-separated options
        q = p.replace(",", "!").replace(";", "!").replace("\"", "!").replace("\\", "!")
        return ["{", "  \"ConnectionStrings\": {", f"    \"Redis\": \"cache.corp.internal:6379,password={q},ssl=False,abortConnect=False\"",
                "  }", "}"], q, "appsettings.Staging.json", ["conn.redis-config-password"]
    return [f"Provider=Microsoft.ACE.OLEDB.12.0;Data Source=C:\\data\\shop.accdb;Jet OLEDB:Database Password={p};"], p, "shop.udl", r


def jdbc(rng):
    p = pw_plain(rng) if rng.random() < 0.5 else weak(rng).replace("#", "!").replace("?", "!").replace("$", "!").replace("@", "!")
    u, h = user(rng), host(rng)
    r = ["conn.jdbc-password"]
    form = rng.randrange(6)
    if form == 0:
        return ["spring.application.name=orders", f"spring.datasource.url=jdbc:mysql://{h}:3306/orders?user={u}&password={p}&useSSL=true",
                "spring.jpa.hibernate.ddl-auto=validate"], p, "application.properties", r
    if form == 1:
        return ["spring:", "  datasource:", f"    url: jdbc:sqlserver://{h}:1433;databaseName=hr;user={u};password={p};encrypt=true",
                "    driver-class-name: com.microsoft.sqlserver.jdbc.SQLServerDriver"], p, "application.yml", r
    if form == 2:
        return ["<Resource name=\"jdbc/billing\" auth=\"Container\" type=\"javax.sql.DataSource\"",
                f"          url=\"jdbc:oracle:thin:{u}/{p}@//{h}:1521/BILL\"/>"], p, "context.xml", r
    if form == 3:
        return [f"DB_URL=jdbc:postgresql://{h}:5432/app?user={u}&password={p}&ssl=true"], p, "db.env", r
    if form == 4:
        return ["jdbc.driver=com.ibm.db2.jcc.DB2Driver", f"jdbc.url=jdbc:db2://{h}:50000/SAMPLE:user={u};password={p};"], p, "db2.properties", r
    return [f"jdbc.url=jdbc:mysql://{u}:{p}@{h}:3306/shop?useSSL=false"], p, "jdbc.properties", r + ["url.userinfo-password", "database.url-password"]


def url_userinfo(rng):
    p = pw(rng)
    u = user(rng)
    r = ["url.userinfo-password", "database.url-password"]
    form = rng.randrange(9)
    enc = urllib.parse.quote(p, safe="!$&'*+,;=")
    if form == 0:  # a password with '@' and ':' as people paste it
        p2 = F.rand(rng, F.ALNUM, 6) + rng.choice(["@", ":"]) + F.rand(rng, F.ALNUM, 6) + "1"
        return [f"MONGO_URL=mongodb+srv://{u}:{p2}@cluster0.ab1cd.mongodb.net/orders?retryWrites=true"], p2, ".env", r
    if form == 1:
        return [f"SMTP_URL=smtps://{u}:{enc}@smtp.mailhost.net:465"], enc, ".env", r
    if form == 2:
        return ["[core]", "\trepositoryformatversion = 0", "[remote \"origin\"]",
                f"\turl = https://{u}:{enc}@git.corp.internal/platform/orders.git",
                "\tfetch = +refs/heads/*:refs/remotes/origin/*"], enc, "config", r
    if form == 3:
        return [f"amqp://{u}:{enc}@rabbitmq.internal:5672/orders"], enc, "broker.url", r
    if form == 4:
        return [f"ftp://{u}:{enc}@files.internal:21/nightly/"], enc, "mirror.txt", r
    if form == 6:  # an e-mail address as the login, its '@' not escaped
        return [f"MAIL_URL = \"smtp://{u}@corp.internal:{enc}@smtp.corp.internal:587\""], enc, "mail.py", r
    if form == 7:
        return ["import os", f"SQLALCHEMY_DATABASE_URI = \"postgresql+psycopg2://{u}:{enc}@db.internal:5432/shop\""], enc, "config.py", r
    if form == 8:
        return [f"http_proxy=http://{u}:{enc}@proxy.corp.internal:3128", "no_proxy=localhost,127.0.0.1"], enc, "proxy.env", r
    return ["spec:", "  containers:", "    - name: worker", "      env:", "        - name: REDIS_URL",
            f"          value: redis://:{enc}@cache.internal:6379/0"], enc, "worker.yaml", r


def git_credentials(rng):
    tok = pw_plain(rng) if rng.random() < 0.5 else strong(rng, 24)
    tok = urllib.parse.quote(tok, safe="")
    lines = [f"https://{user(rng)}:{tok}@git.corp.internal"]
    if rng.random() < 0.5:
        other = urllib.parse.quote(strong(rng), safe="")
        lines.insert(0, f"https://ci-bot:{other}@dev.azure.internal")
        r = ["url.userinfo-password"]
        return lines, [(other, r), (tok, r)], ".git-credentials", None
    return lines, tok, ".git-credentials", ["url.userinfo-password"]


def basic_auth(rng):
    cred = b64(f"{user(rng)}:{pw(rng)}")
    r = ["http.basic-auth"]
    form = rng.randrange(3)
    if form == 0:
        return ["#!/bin/sh", f"curl -fsS -H \"Authorization: Basic {cred}\" https://nexus.internal/service/rest/v1/status"], cred, "status.sh", r
    if form == 1:
        return ["GET https://api.internal/v1/orders", f"Authorization: Basic {cred}", "Accept: application/json"], cred, "orders.http", r
    return ["import requests", "", f"HEADERS = {{\"Authorization\": \"Basic {cred}\"}}",
            "requests.get(\"https://api.internal/v1/orders\", headers=HEADERS)"], cred, "client.py", r


def bearer(rng):
    tok = F.rand(rng, F.ALNUM, rng.randint(28, 40))
    tok = tok if any(c.isdigit() for c in tok) else tok[:-1] + "7"  # a drawn token without a digit reads as words
    r = ["http.bearer-token"]
    if rng.random() < 0.5:
        return ["#!/bin/sh", f"curl -H 'Authorization: Bearer {tok}' https://api.internal/v1/jobs"], tok, "jobs.sh", r
    return ["POST https://api.internal/v1/jobs", f"Authorization: Bearer {tok}", "Content-Type: application/json"], tok, "jobs.http", r


def cli_password(rng):
    p = pw(rng).replace("$", "!")
    r = ["cli.user-password"]
    form = rng.randrange(3)
    if form == 0:
        return ["#!/bin/bash", "set -e", f"curl -fsS -u deploy:{p} -T build/app.zip https://files.internal/upload/"], p, "upload.sh", r
    if form == 1:
        return ["#!/bin/bash", f"curl --user \"ci:{p}\" https://nexus.internal/repository/raw/app.tgz -o app.tgz"], p, "fetch.sh", r
    return ["#!/bin/sh", f"wget --user=backup --password={p} ftp://files.internal/dump.sql"], p, "dump.sh", r


# ---- dotfiles and tool configs ------------------------------------------------------

def netrc(rng):
    p = pw(rng)
    r = ["netrc.password"]
    form = rng.randrange(5)
    name = rng.choice([".netrc", "_netrc"])
    if form == 4:
        p2 = pw(rng)
        # both passwords are reported; the scorer keys a planted secret by its line
        return crlf([f"machine git.corp.internal login {user(rng)} password {p} machine ftp.corp.internal login ftp password {p2}"]), \
            p, name, r
    if form == 0:
        return [f"machine api.heroku.com login ops@corp.internal password {p}",
                f"machine git.heroku.com login ops@corp.internal password {p}"], [(p, r), (p, r)], name, None
    if form == 1:
        return ["machine git.corp.internal", f"  login {user(rng)}", f"  password {p}", "", "machine ftp.internal",
                "  login anonymous", "  password ops@corp.internal"], p, name, r
    if form == 2:
        return [f"machine files.internal password {p} login backup"], p, name, r
    return ["default", f"login {user(rng)}", f"password {p}"], p, name, r


def pgpass(rng):
    p = pw(rng).replace(":", "!")
    lines = [f"{host(rng)}:{rng.choice(['5432', '6432', '*'])}:{rng.choice(['orders', '*'])}:{user(rng)}:{p}"]
    if rng.random() < 0.5:
        lines.insert(0, "# hostname:port:database:username:password")
    return lines, p, ".pgpass", ["pgpass.password"]


def mycnf(rng):
    p = pw(rng).replace("#", "!")  # '#' starts a comment anywhere in an option file
    sec = rng.choice(["client", "mysql", "mysqldump"])
    if rng.random() < 0.5:
        return [f"[{sec}]", f"user={user(rng)}", f"password={p}", f"host={host(rng)}"], p, ".my.cnf", ["mysql.cnf-password"]
    return ["[mysqld]", "bind-address = 127.0.0.1", "", f"[{sec}]", f"user = {user(rng)}", f"password = \"{p}\""], p, "my.cnf", ["mysql.cnf-password"]


def npmrc(rng):
    form = rng.randrange(3)
    reg = rng.choice(["npm.corp.internal/repository/npm-group/", "pkgs.dev.azure.com/contoso/_packaging/web/npm/registry/"])
    if form == 0:
        a = b64(f"{user(rng)}:{pw_plain(rng)}")
        return [f"registry=https://{reg}", f"//{reg}:_auth={a}", "always-auth=true"], a, ".npmrc", ["npmrc.auth"]
    if form == 1:
        a = b64(strong(rng, 20))
        return [f"registry=https://{reg}", f"//{reg}:username={user(rng)}", f"//{reg}:_password={a}",
                f"//{reg}:email=ci@corp.internal"], a, ".npmrc", ["npmrc.password"]
    t = "NpmToken." + F.rand(rng, F.ALNUM, 36)
    return [f"@corp:registry=https://{reg}", f"//{reg}:_authToken={t}"], t, ".npmrc", ["npmrc.auth-token"]


def pypirc(rng):
    p = pw(rng).replace("%", "!")
    if rng.random() < 0.5:
        return ["[distutils]", "index-servers =", "    internal", "", "[internal]",
                "repository = https://nexus.internal/repository/pypi-hosted/", f"username = {user(rng)}",
                f"password = {p}"], p, ".pypirc", ["pypirc.password"]
    return ["[distutils]", "index-servers = pypi", "", "[pypi]", "username = releaser", f"password = {p}"], p, ".pypirc", ["pypirc.password"]


def gem(rng):
    k = "rubygems_" + F.rand(rng, "0123456789abcdef", 48)
    return ["---", f":rubygems_api_key: {k}"], k, "credentials", ["gem.credentials-api-key"]


def maven(rng):
    p = pw(rng).replace("<", "!").replace("&", "!")
    if rng.random() < 0.4:
        return ["<settings>", "  <proxies>", "    <proxy>", "      <id>corp</id>", "      <active>true</active>",
                "      <host>proxy.corp.internal</host>", f"      <username>{user(rng)}</username>",
                f"      <password>{p}</password>", "    </proxy>", "  </proxies>", "</settings>"], p, "settings.xml", ["maven.settings-password"]
    return ["<settings>", "  <servers>", "    <server>", "      <id>nexus-releases</id>", f"      <username>{user(rng)}</username>",
            f"      <password>{p}</password>", "    </server>", "  </servers>", "</settings>"], p, "settings.xml", ["maven.settings-password"]


def gradle(rng):
    p = pw(rng)
    key = rng.choice(["mavenPassword", "signing.password", "systemProp.https.proxyPassword", "artifactory_password", "ossrhPassword"])
    return ["org.gradle.jvmargs=-Xmx2g", f"{key}={p}", "org.gradle.caching=true"], p, "gradle.properties", ["config.password-assignment"]


def nuget(rng):
    p = pw(rng).replace("&", "!").replace("<", "!").replace("\"", "!")
    return ["<?xml version=\"1.0\" encoding=\"utf-8\"?>", "<configuration>", "  <packageSourceCredentials>", "    <Contoso>",
            f"      <add key=\"Username\" value=\"{user(rng)}\" />", f"      <add key=\"ClearTextPassword\" value=\"{p}\" />",
            "    </Contoso>", "  </packageSourceCredentials>", "</configuration>"], p, "NuGet.config", ["nuget.config-password"]


def dockercfg(rng):
    a = b64(f"{user(rng)}:{pw_plain(rng)}")
    if rng.random() < 0.5:
        reg = rng.choice(["quay.io", "registry.corp.internal:5000", "harbor.corp.internal"])
        return ["{", f"  \"{reg}\": {{", f"    \"auth\": \"{a}\",", "    \"email\": \"\"", "  }", "}"], a, ".dockercfg", \
            ["dockercfg.auth", "docker.config-auth"]
    return ["{", "  \"https://index.docker.io/v1/\": {", f"    \"auth\": \"{a}\",", "    \"email\": \"ci@corp.internal\"",
            "  }", "}"], a, ".dockercfg", ["dockercfg.auth", "docker.config-auth"]


def s3cfg(rng):
    kid, sec = F.aws_pair(rng)
    return ["[default]", f"access_key = {kid}", "bucket_location = EU", "host_base = s3.amazonaws.com",
            f"secret_key = {sec}", "use_https = True"], [(kid, ["aws.access-key-id"]), (sec, ["s3cfg.secret-key"])], ".s3cfg", None


def filezilla(rng):
    p = b64(pw(rng))
    return ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<FileZilla3>", "  <Servers>", "    <Server>",
            "      <Host>ftp.corp.internal</Host>", "      <Port>21</Port>", f"      <User>{user(rng)}</User>",
            f"      <Pass encoding=\"base64\">{p}</Pass>", "    </Server>", "  </Servers>", "</FileZilla3>"], p, "sitemanager.xml", ["filezilla.password"]


def sftp_json(rng):
    p = pw(rng).replace("\\", "!").replace("\"", "!")
    form = rng.randrange(3)
    if form == 1:
        return ["{", "    \"protocol\": \"ftp\",", "    \"host\": \"ftp.corp.internal\",", "    \"port\": 21,",
                f"    \"user\": \"{user(rng)}\",", f"    \"pass\": \"{p}\",", "    \"promptForPass\": false,",
                "    \"remote\": \"/htdocs\"", "}"], p, ".ftpconfig", ["config.password-assignment"]
    if form == 2:
        return ["{", "    // sftp, ftp or ftps", "    \"type\": \"sftp\",", "    \"upload_on_save\": true,",
                "    \"host\": \"web01.corp.internal\",", f"    \"user\": \"{user(rng)}\",", f"    \"password\": \"{p}\",",
                "    \"remote_path\": \"/var/www/html/\",", "}"], p, "sftp-config.json", ["config.password-assignment"]
    return ["{", "  \"name\": \"web01\",", "  \"host\": \"web01.corp.internal\",", "  \"protocol\": \"sftp\",",
            "  \"port\": 22,", f"  \"username\": \"{user(rng)}\",", f"  \"password\": \"{p}\",",
            "  \"remotePath\": \"/var/www/app\",", "  \"uploadOnSave\": true", "}"], p, "sftp.json", ["config.password-assignment"]


def webservers(rng):
    p = F.rand(rng, "0123456789abcdef", 2 * rng.randint(8, 14))
    return ["<application>", "  <component name=\"WebServers\">", "    <option name=\"servers\">",
            "      <webServer id=\"1\" name=\"web01\">",
            f"        <fileTransfer accessType=\"SFTP\" host=\"web01.corp.internal\" port=\"22\" login=\"deploy\" password=\"{p}\" />",
            "      </webServer>", "    </option>", "  </component>", "</application>"], p, "WebServers.xml", ["jetbrains.webservers-password"]


def winscp(rng):
    p = "A35C" + F.rand(rng, "0123456789ABCDEF", 2 * rng.randint(12, 20))
    return ["[Configuration\\Interface]", "Updates=0", f"[Sessions\\deploy@web{rng.randint(1, 9)}]",
            "HostName=web01.corp.internal", "UserName=deploy", f"Password={p}"], p, "WinSCP.ini", ["winscp.session-password"]


def msmtp(rng):
    p = pw(rng).replace("#", "!")
    if rng.random() < 0.5:
        return ["defaults", "auth on", "tls on", "", "account work", "host smtp.corp.internal", "port 587",
                f"from ops@corp.internal", "user ops@corp.internal", f"password {p}", "", "account default : work"], p, ".msmtprc", ["mail.client-password"]
    if rng.random() < 0.5:
        q = spaced(rng) if rng.random() < 0.5 else p.replace("\"", "!")
        return ["hostname = smtp.corp.internal:587", f"username = \"{user(rng)}@corp.internal\"", f"password = \"{q}\"",
                "starttls = required"], q, ".esmtprc", ["mail.client-password"]
    return [f"poll imap.corp.internal protocol imap", f"  user \"{user(rng)}\" there with password \"{p}\" is \"ops\" here"], p, ".fetchmailrc", ["mail.client-password"]


def sipconf(rng):
    p = pw(rng).replace(";", "!")
    return ["[general]", "context=default", "", f"[{rng.randint(1000, 1999)}]", "type=friend", "host=dynamic",
            f"secret={p}", "context=office"], p, "sip.conf", ["sip.peer-secret"]


def doctl(rng):
    t = "dop_v1_" + F.rand(rng, "0123456789abcdef", 64)
    return ["auth-contexts:", "  default: true", f"access-token: {t}", "context: default", "output: text"], t, "config.yaml", ["doctl.access-token"]


# ---- application frameworks --------------------------------------------------

def wp_config(rng):
    form = rng.randrange(2)
    if form == 0:
        p = pw(rng).replace("'", "!").replace("\\", "!")
        return ["<?php", "define( 'DB_NAME', 'wordpress' );", "define( 'DB_USER', 'wp' );",
                f"define( 'DB_PASSWORD', '{p}' );", "define( 'DB_HOST', 'localhost' );"], p, "wp-config.php", ["php.define-password"]
    salt = F.rand(rng, F.ALNUM + "!@#%^&*()-_[]{}<>~+=,.;:/?|", 64).replace("'", "!").replace("\\", "!")
    return ["<?php", f"define( 'AUTH_KEY',         '{salt}' );"], salt, "wp-config.php", ["php.wordpress-salt"]


def php_vars(rng):
    p = pw(rng).replace("'", "!").replace("\\", "!")
    if rng.random() < 0.5:
        return ["<?php", "$i = 0;", "$i++;", "$cfg['Servers'][$i]['host'] = 'db01';", "$cfg['Servers'][$i]['user'] = 'pma';",
                f"$cfg['Servers'][$i]['password'] = '{p}';"], p, "config.inc.php", ["php.variable-password"]
    return ["<?php", "$db_host = 'db01';", "$db_user = 'shop';", f"$db_pass = '{p}';"], p, "config.php", ["config.password-assignment"]


def laravel_env(rng):
    if rng.random() < 0.5:
        k = "base64:" + base64.b64encode(F.rbytes(rng, 32)).decode()
        return ["APP_NAME=Shop", "APP_ENV=production", f"APP_KEY={k}", "APP_DEBUG=false"], k, ".env", ["laravel.app-key"]
    p = pw(rng)
    if rng.random() < 0.4:
        p = spaced(rng) if rng.random() < 0.5 else p.replace("\"", "!").replace("$", "!").replace("\\", "!")
        return ["DB_CONNECTION=mysql", "DB_HOST=127.0.0.1", "DB_USERNAME=shop", f"DB_PASSWORD=\"{p}\"",
                "REDIS_PASSWORD=null"], p, ".env", ["config.password-assignment"]
    return ["DB_CONNECTION=mysql", "DB_HOST=127.0.0.1", "DB_PORT=3306", "DB_DATABASE=shop", "DB_USERNAME=shop",
            f"DB_PASSWORD={p}"], p, ".env", ["config.password-assignment"]


def symfony_env(rng):
    s = F.rand(rng, "0123456789abcdef", 32)
    return ["APP_ENV=prod", f"APP_SECRET={s}"], s, ".env.local", ["symfony.app-secret"]


def django(rng):
    if rng.random() < 0.5:
        k = F.rand(rng, "abcdefghijklmnopqrstuvwxyz0123456789!@#%^&*(-_=+)", 50)
        return ["from pathlib import Path", "", "BASE_DIR = Path(__file__).resolve().parent.parent", "",
                f"SECRET_KEY = '{k}'", "", "DEBUG = False"], k, "settings.py", ["django.secret-key"]
    p = pw(rng).replace("'", "!")
    return ["DATABASES = {", "    'default': {", "        'ENGINE': 'django.db.backends.postgresql',",
            "        'NAME': 'shop',", "        'USER': 'shop',", f"        'PASSWORD': '{p}',",
            "        'HOST': 'db.internal',", "    }", "}"], p, "settings.py", ["django.databases-password"]


def rails(rng):
    if rng.random() < 0.5:
        k = F.rand(rng, "0123456789abcdef", 128)
        return ["production:", f"  secret_key_base: {k}"], k, "secrets.yml", ["rails.secret-key-base"]
    p = pw(rng)
    return ["production:", "  adapter: postgresql", "  database: shop", "  username: shop", f"  password: \"{p}\"",
            "  host: db.internal"], p, "database.yml", ["config.password-assignment"]


def spring(rng):
    p = pw(rng)
    if rng.random() < 0.5:
        return ["spring.datasource.url=jdbc:postgresql://db.internal:5432/shop", "spring.datasource.username=shop",
                f"spring.datasource.password={p}"], p, "application.properties", ["config.password-assignment"]
    return ["spring:", "  datasource:", "    url: jdbc:postgresql://db.internal:5432/shop", "    username: shop",
            f"    password: '{p}'"], p, "application-prod.yml", ["config.password-assignment"]


def appsettings(rng):
    p = pw(rng).replace("\\", "!").replace("\"", "!")
    return ["{", "  \"Smtp\": {", "    \"Host\": \"smtp.corp.internal\",", "    \"User\": \"noreply\",",
            f"    \"Password\": \"{p}\"", "  }", "}"], p, "appsettings.json", ["config.password-assignment"]


def node_config(rng):
    p = pw(rng).replace("\\", "!").replace("\"", "!")
    if rng.random() < 0.3:  # an inline JSON object, the password not ending the line (Robo 3T)
        return ["{", "  \"connections\": [", "    {", "      \"serverHost\": \"mongo.corp.internal\",",
                f"      \"credentials\": [{{\"databaseName\": \"admin\", \"userName\": \"{user(rng)}\", \"userPassword\": \"{p}\", \"enabled\": true}}]",
                "    }", "  ]", "}"], p, "robo3t.json", ["config.password-assignment"]
    return ["{", "  \"db\": {", "    \"host\": \"db.internal\",", "    \"user\": \"api\",", f"    \"password\": \"{p}\",",
            "    \"pool\": 10", "  }", "}"], p, "production.json", ["config.password-assignment"]


def tfvars(rng):
    p = pw(rng).replace("\\", "!").replace("\"", "!").replace("$", "!")
    form = rng.randrange(4)
    if form == 2:
        name = rng.choice(["db_password", "admin_password", "api_key", "client_secret"])
        return [f"variable \"{name}\" {{", "  description = \"set by the pipeline\"", "  type        = string",
                f"  default     = \"{p}\"", "}"], p, "variables.tf", ["terraform.variable-default"]
    if form == 3:
        p = strong(rng, rng.choice([16, 20, 24])).replace("\\", "!").replace("\"", "!")
        return ["{", "  \"version\": 4,", "  \"resources\": [", "    {", "      \"mode\": \"managed\",",
                "      \"type\": \"random_password\",", "      \"name\": \"db\",",
                "      \"provider\": \"provider[\\\"registry.terraform.io/hashicorp/random\\\"]\",", "      \"instances\": [",
                "        {", "          \"schema_version\": 3,", "          \"attributes\": {", "            \"id\": \"none\",",
                "            \"length\": 24,", f"            \"result\": \"{p}\",", "            \"special\": true",
                "          },", "          \"sensitive_attributes\": []", "        }", "      ]", "    }", "  ]", "}"], p, "terraform.tfstate", \
            ["terraform.state-random-password"]
    if form == 0:
        return ["location    = \"westeurope\"", f"db_admin_password = \"{p}\"", "sku = \"GP_Gen5_2\""], p, "prod.tfvars", ["config.password-assignment"]
    return ["{", "  \"resources\": [", "    {", "      \"type\": \"azurerm_mssql_server\",", "      \"instances\": [",
            "        {", "          \"attributes\": {", "            \"administrator_login\": \"sqladmin\",",
            f"            \"administrator_login_password\": \"{p}\",", "            \"version\": \"12.0\"",
            "          }", "        }", "      ]", "    }", "  ]", "}"], p, "terraform.tfstate", ["config.password-assignment"]


def helm(rng):
    p = pw(rng).replace("#", "!")
    return ["postgresql:", "  enabled: true", "  auth:", "    username: app", f"    password: {p}", "    database: app"], p, "values.yaml", ["config.password-assignment"]


def ansible(rng):
    p = pw(rng).replace("#", "!")
    if rng.random() < 0.4:
        p = p.replace("\"", "!").replace("'", "!").replace("{", "!").replace("$", "!")
        key = rng.choice(["ansible_ssh_pass", "ansible_password", "ansible_become_pass"])
        return ["[web]", f"web01 ansible_host=10.0.1.11 ansible_user=deploy {key}={p} ansible_port=22",
                "web02 ansible_host=10.0.1.12"], p, "hosts", ["config.password-assignment"]
    key = rng.choice(["ansible_become_pass", "ansible_password", "mysql_root_password"])
    return ["---", "ansible_user: deploy", f"{key}: {p}"], p, "all.yml", ["config.password-assignment"]


def xml_password(rng):
    p = pw(rng).replace("<", "!").replace("&", "!").replace("\"", "!")
    u = user(rng)
    r = ["config.xml-password"]
    form = rng.randrange(5)
    if form == 0:
        return ["<hibernate-configuration>", "  <session-factory>",
                "    <property name=\"connection.url\">jdbc:postgresql://db.internal:5432/shop</property>",
                f"    <property name=\"connection.username\">{u}</property>",
                f"    <property name=\"connection.password\">{p}</property>", "  </session-factory>", "</hibernate-configuration>"], \
            p, "hibernate.cfg.xml", r
    if form == 1:
        return ["<beans>", "  <bean id=\"dataSource\" class=\"org.apache.commons.dbcp2.BasicDataSource\">",
                f"    <property name=\"username\" value=\"{u}\"/>", f"    <property name=\"password\" value=\"{p}\"/>",
                "  </bean>", "</beans>"], p, "applicationContext.xml", r
    if form == 2:
        return ["<persistence-unit name=\"shop\">", "  <properties>",
                f"    <property name=\"javax.persistence.jdbc.user\" value=\"{u}\" />",
                f"    <property name=\"javax.persistence.jdbc.password\" value=\"{p}\" />", "  </properties>",
                "</persistence-unit>"], p, "persistence.xml", r
    if form == 3:
        return crlf(["<configuration>", "  <system.net>", "    <mailSettings>", "      <smtp from=\"noreply@corp.internal\">",
                     f"        <network host=\"smtp.corp.internal\" port=\"587\" userName=\"{u}\" password=\"{p}\" enableSsl=\"true\" />",
                     "      </smtp>", "    </mailSettings>", "  </system.net>", "</configuration>"]), p, "Web.config", r
    return ["<data-sources>", "  <data-source id=\"mysql-1\" provider=\"mysql\" name=\"shop\" save-password=\"true\">",
            f"    <connection host=\"mysql.corp.internal\" port=\"3306\" database=\"shop\" user=\"{u}\" password=\"{p}\" type=\"prod\"/>",
            "  </data-source>", "</data-sources>"], p, "data-sources.xml", r


def jenkins(rng):
    s = "AQAAABAAAAA" + F.rand(rng, F.B64, 44) + "="
    if rng.random() < 0.4:
        return ["<project>", "  <properties>", "    <hudson.model.ParametersDefinitionProperty>", "      <parameterDefinitions>",
                "        <hudson.model.PasswordParameterDefinition>", "          <name>DEPLOY_PASSWORD</name>",
                f"          <defaultValue>{{{s}}}</defaultValue>", "        </hudson.model.PasswordParameterDefinition>",
                "      </parameterDefinitions>", "    </hudson.model.ParametersDefinitionProperty>", "  </properties>", "</project>"], \
            s, "config.xml", ["jenkins.credentials-secret"]
    return ["<?xml version='1.1' encoding='UTF-8'?>", "<com.cloudbees.plugins.credentials.SystemCredentialsProvider plugin=\"credentials@1337\">",
            "  <domainCredentialsMap class=\"hudson.util.CopyOnWriteMap$Hash\">",
            "    <com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl>",
            "      <id>deploy</id>", "      <username>deploy</username>", f"      <password>{{{s}}}</password>",
            "    </com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl>",
            "  </domainCredentialsMap>", "</com.cloudbees.plugins.credentials.SystemCredentialsProvider>"], s, "credentials.xml", ["jenkins.credentials-secret"]


def shell_profile(rng):
    p = pw(rng).replace("$", "!").replace("\"", "!")
    if rng.random() < 0.3:
        q = spaced(rng)
        return ["# ~/.bash_profile", f"export SMTP_PASS='{q}'"], q, ".bash_profile", ["config.password-assignment"]
    if rng.random() < 0.2:
        q = p.replace("'", "!")
        return ["# ~/.profile", f"PGPASSWORD='{q}'; export PGPASSWORD"], q, ".profile", ["config.password-assignment"]
    return ["# ~/.bashrc", "alias ll='ls -l'", f"export DB_PASSWORD=\"{p}\"", "export PATH=$HOME/bin:$PATH"], p, ".bashrc", ["config.password-assignment"]


def compose(rng):
    p = pw(rng).replace("#", "!").replace("$", "!")
    if rng.random() < 0.3:
        p = p.replace("\"", "!")
        return ["services:", "  db:", "    image: mysql:8", "    environment:", f"      - \"MYSQL_PASSWORD={p}\"",
                "      - \"MYSQL_DATABASE=app\""], p, "docker-compose.yml", ["config.password-assignment"]
    if rng.random() < 0.5:
        return ["services:", "  db:", "    image: postgres:16", "    environment:", f"      - POSTGRES_PASSWORD={p}",
                "      - POSTGRES_DB=app"], p, "docker-compose.yml", ["config.password-assignment"]
    return ["services:", "  db:", "    image: mysql:8", "    environment:", f"      MYSQL_ROOT_PASSWORD: {p}",
            "      MYSQL_DATABASE: app"], p, "compose.yaml", ["config.password-assignment"]


def k8s_env(rng):
    p = pw(rng).replace("#", "!")
    if rng.random() < 0.4:
        p = p.replace(",", "!").replace("}", "!").replace("\"", "!")
        return ["spec:", "  containers:", "  - name: mysql", "    env:", f"    - {{name: MYSQL_PASSWORD, value: \"{p}\"}}",
                "    - {name: MYSQL_DATABASE, value: app}"], p, "statefulset.yaml", ["kubernetes.env-password"]
    return ["apiVersion: apps/v1", "kind: Deployment", "spec:", "  template:", "    spec:", "      containers:",
            "        - name: api", "          env:", "            - name: DB_PASSWORD", f"              value: \"{p}\""], p, "deployment.yaml", ["kubernetes.env-password"]


KINDS = {  # kind: (family, generator)
    "ado-net": ("connection-strings", ado_net),
    "jdbc": ("connection-strings", jdbc),
    "url-userinfo": ("connection-strings", url_userinfo),
    "basic-auth": ("connection-strings", basic_auth),
    "bearer": ("connection-strings", bearer),
    "cli-password": ("connection-strings", cli_password),
    "netrc": ("dotfiles", netrc),
    "git-credentials": ("dotfiles", git_credentials),
    "pgpass": ("dotfiles", pgpass),
    "my-cnf": ("dotfiles", mycnf),
    "npmrc": ("dotfiles", npmrc),
    "pypirc": ("dotfiles", pypirc),
    "gem-credentials": ("dotfiles", gem),
    "maven-settings": ("dotfiles", maven),
    "gradle-properties": ("dotfiles", gradle),
    "nuget-config": ("dotfiles", nuget),
    "dockercfg": ("dotfiles", dockercfg),
    "s3cfg": ("dotfiles", s3cfg),
    "filezilla": ("dotfiles", filezilla),
    "sftp-json": ("dotfiles", sftp_json),
    "jetbrains-webservers": ("dotfiles", webservers),
    "winscp": ("dotfiles", winscp),
    "mail-client": ("dotfiles", msmtp),
    "sip-conf": ("dotfiles", sipconf),
    "doctl": ("dotfiles", doctl),
    "wp-config": ("frameworks", wp_config),
    "php-vars": ("frameworks", php_vars),
    "laravel-env": ("frameworks", laravel_env),
    "symfony-env": ("frameworks", symfony_env),
    "django": ("frameworks", django),
    "rails": ("frameworks", rails),
    "spring": ("frameworks", spring),
    "appsettings": ("frameworks", appsettings),
    "node-config": ("frameworks", node_config),
    "terraform": ("frameworks", tfvars),
    "helm-values": ("frameworks", helm),
    "ansible-vars": ("frameworks", ansible),
    "jenkins-credentials": ("frameworks", jenkins),
    "xml-password": ("frameworks", xml_password),
    "shell-profile": ("frameworks", shell_profile),
    "docker-compose": ("frameworks", compose),
    "k8s-env": ("frameworks", k8s_env),
    "default-password": ("weak-defaults", default_password),
}

# ---- decoys: every line must produce no finding -------------------------------------

PLACEHOLDERS = ["<password>", "${DB_PASSWORD}", "%DB_PASSWORD%", "$(DbPassword)", "{{ .Values.db.password }}",
                "#{DbPassword}#", "__DB_PASSWORD__", "@@DB_PASSWORD@@", "changeme", "xxx",
                "***", "null", "none", "true", "$DB_PASSWORD", "your_password_here", "CHANGE_ME",
                "@Microsoft.KeyVault(SecretUri=https://kv-prod.vault.azure.net/secrets/db/)",
                "vault:secret/data/orders#db_password", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-db-AbCdEf"]


def decoys(rng):
    ph = PLACEHOLDERS
    d = {}
    d["appsettings.json"] = ["{", "  \"ConnectionStrings\": {"] + [
        f"    \"Db{i}\": \"Server=db01;Database=orders;User ID=app;Password={p};\"," for i, p in enumerate(ph) if "\"" not in p] + [
        "    \"Trusted\": \"Server=db01;Database=orders;Integrated Security=True;\",",
        "    \"Empty\": \"Server=db01;Database=orders;User ID=app;Password=;\"", "  }", "}"]
    d["web.config"] = ["<connectionStrings>", "  <add name=\"A\" connectionString=\"Data Source=db01;Initial Catalog=Shop;User Id=shop;Password=#{ShopDbPassword}#;\" />",
                       "  <add name=\"B\" connectionString=\"Data Source=db01;Initial Catalog=Shop;Integrated Security=SSPI;\" />", "</connectionStrings>"]
    d["code.cs"] = ["var cs = \"Server=db01;Database=hr;User Id=svc;Password=\" + password + \";\";",
                    "var cs2 = $\"Server=db01;Database=hr;User Id=svc;Password={settings.DbPassword};\";",
                    "var odbc = \"DSN=Reports;UID=reporter;PWD={DbPassword};\";"]
    d["application.properties"] = [f"spring.datasource.password={p}" for p in ph if " " not in p] + [
        "spring.datasource.url=jdbc:postgresql://db.internal:5432/shop?user=shop&password=${DB_PASSWORD}",
        "spring.datasource.url=jdbc:postgresql://db.internal:5432/shop?ssl=true",
        "spring.datasource.password=", "jdbc.url=jdbc:oracle:thin:@//ora01.internal:1521/BILL"]
    d["urls.md"] = ["See https://docs.python.org/3/library/urllib.parse.html and postgres://localhost/db.",
                    "Clone with https://user:password@git.corp.internal/org/app.git (replace both).",
                    "REDIS_URL=redis://localhost:6379/0", "AMQP_URL=amqp://guest:guest@localhost:5672/",
                    "GIT_URL=https://${GIT_USER}:${GIT_TOKEN}@git.corp.internal/org/app.git",
                    "https://app:@git.corp.internal/org/app.git", "ssh://git@git.corp.internal:2222/org/app.git",
                    "https://admin:Winter2024!@www.example.com/login", "mongodb+srv://<user>:<password>@cluster0.ab1cd.mongodb.net/"]
    d["scripts.sh"] = ["curl -u \"$NEXUS_USER:$NEXUS_PASSWORD\" https://nexus.internal/",
                       "curl -H \"Authorization: Bearer $TOKEN\" https://api.internal/",
                       "curl -H \"Authorization: Basic $(echo -n \"$U:$P\" | base64)\" https://api.internal/",
                       "wget --password=\"${FTP_PASSWORD}\" ftp://files.internal/dump.sql",
                       "export DB_PASSWORD=\"$(vault kv get -field=password secret/db)\"", "export DB_PASSWORD=$1",
                       "read -rs -p \"Password: \" DB_PASSWORD"]
    d[".netrc"] = ["machine ftp.internal login anonymous password ops@corp.internal",
                   "machine git.corp.internal login deploy password ${GIT_PASSWORD}",
                   "machine host.domain.com login myself password mypassword"]
    d[".pgpass"] = ["# hostname:port:database:username:password", "db.internal:5432:orders:orders:"]
    d[".my.cnf"] = ["[client]", "user=backup", "password=", "", "[mysqldump]", "password = your_password"]
    d[".npmrc"] = ["//npm.corp.internal/:_authToken=${NPM_TOKEN}", "//npm.corp.internal/:_password=${NPM_PASSWORD_B64}",
                   "_auth=${NPM_AUTH}", "always-auth=true"]
    d[".pypirc"] = ["[pypi]", "username = __token__", "password = <PyPI token>", "", "[testpypi]", "password = ${TESTPYPI_PASSWORD}"]
    d["settings.xml"] = ["<servers>", "  <server>", "    <id>a</id>", "    <password>${env.NEXUS_PASSWORD}</password>", "  </server>",
                         "  <server>", "    <id>b</id>", "    <password>{COQLCE6DU6GtcS5P=}</password>", "  </server>", "</servers>"]
    d["NuGet.config"] = ["<packageSourceCredentials>", "  <Contoso>", "    <add key=\"Username\" value=\"ci\" />",
                         "    <add key=\"ClearTextPassword\" value=\"%NUGET_PASSWORD%\" />", "  </Contoso>",
                         "  <Fabrikam>", "    <add key=\"ClearTextPassword\" value=\"$(NuGetPassword)\" />", "  </Fabrikam>", "</packageSourceCredentials>"]
    d["wp-config-sample.php"] = ["<?php", "define( 'DB_PASSWORD', 'password_here' );", "define( 'AUTH_KEY',         'put your unique phrase here' );",
                                 "define( 'DB_PASSWORD', getenv('WORDPRESS_DB_PASSWORD') );", "$cfg['Servers'][$i]['password'] = '';"]
    d["settings.py"] = ["SECRET_KEY = os.environ['DJANGO_SECRET_KEY']", "DATABASES = {", "    'default': {",
                        "        'PASSWORD': os.environ.get('DB_PASSWORD', ''),", "    }", "}",
                        "password = os.environ[\"DB_PASSWORD\"]", "    password = getpass.getpass()", "    self.password = password"]
    d["app.js"] = ["const config = {", "  password: process.env.DB_PASSWORD,", "};", "if (password === \"hunter2\") {}"]
    d["App.java"] = ["String password = System.getenv(\"DB_PASSWORD\");", "props.setProperty(\"password\", dbPassword);"]
    d["secrets.yml"] = ["production:", "  secret_key_base: <%= ENV[\"SECRET_KEY_BASE\"] %>", "  db_password: !vault |",
                        "    $ANSIBLE_VAULT;1.1;AES256", "    " + F.rand(rng, "0123456789abcdef", 64)]
    d["values.yaml"] = ["postgresql:", "  auth:", "    password: \"{{ .Values.global.dbPassword }}\"", "    existingSecret: db-credentials",
                        "    passwordKey: password", "redis:", "  password: \"\""]
    d["deployment.yaml"] = ["env:", "  - name: DB_PASSWORD", "    valueFrom:", "      secretKeyRef: {name: db, key: password}",
                            "  - name: API_TOKEN", "    value: \"$(API_TOKEN)\"", "  - name: TOKEN_URL", "    value: https://login.corp.internal/token"]
    d["docker-compose.yml"] = ["services:", "  db:", "    environment:", "      - POSTGRES_PASSWORD=${POSTGRES_PASSWORD}",
                               "      - MYSQL_PASSWORD", "      MYSQL_ROOT_PASSWORD_FILE: /run/secrets/db_root_password"]
    d[".env.example"] = ["DB_PASSWORD=", "APP_KEY=", "APP_SECRET=%env(APP_SECRET)%", "SMTP_PASSWORD=changeme", "REDIS_PASSWORD=null"]
    d["hibernate.cfg.xml"] = ["<property name=\"connection.password\">${db.password}</property>",
                              "<property name=\"connection.password\"></property>",
                              "<property name=\"passwordEncoder\" ref=\"encoder\"/>"]
    d["Web.Release.config"] = ["<network host=\"smtp\" userName=\"x\" password=\"__SMTP_PASSWORD__\" />",
                               "<connection host=\"db\" user=\"root\" password=\"\" type=\"dev\"/>",
                               "<add name=\"Db\" connectionString=\"Server=.;Database=App;User Id=sa;Password=<YourStrong@Passw0rd>;\" />"]
    d["variables.tf"] = ["variable \"db_password\" {", "  type      = string", "  sensitive = true", "}",
                         "variable \"db_password_length\" {", "  default = \"24\"", "}",
                         "variable \"api_key\" {", "  default = \"\"", "}"]
    d["empty.tfstate"] = ["{\"resources\": [{\"type\": \"random_password\", \"instances\": [{\"attributes\": {\"result\": \"\"}}]},",
                          " {\"type\": \"random_id\", \"instances\": []}]}"]
    d["inventory"] = ["[db]", "db01 ansible_host=10.0.2.5 ansible_password=\"{{ vault_db01_pw }}\" ansible_port=22",
                      "db02 ansible_ssh_pass=$DB02_PASS"]
    d["bootstrap.yml"] = ["spring:", "  cloud:", "    config:", "      password: '{cipher}AQBk8vLm2Rx9pWz4KkUdfMI7zcpVMw0q'",
                          "  datasource:", "    password: ENC(G6N718UuyPE5bHyWKyuLQSm02auQPUtm)"]
    d[".ftpconfig"] = ["{", "  \"user\": \"ftp\",", "  \"pass\": \"${FTP_PASS}\",", "  \"bypass\": \"on\"", "}"]
    d[".esmtprc"] = ["username = \"ops@corp.internal\"", "password = \"${SMTP_PASSWORD}\""]
    d["statefulset.yaml"] = ["    - {name: MYSQL_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: pw}}}",
                             "    - {name: MYSQL_PASSWORD, value: \"$(MYSQL_PASSWORD)\"}"]
    d["spaced.env"] = ["DB_PASSWORD=\"change me later\"", "DB_PASSWORD=\"Enter the password\"", "SMTP_PASSWORD='your password 1'",
                       "ADMIN_PASSWORD=\"$(cat /run/secrets/admin pw)\""]
    # Defaults and dictionary passwords are reported in credential and configuration files
    # (kind default-password); in documentation, code and tests they are stand-ins.
    d["setup.md"] = ["db.password=p4ssw0rd", "smtp.password=secr3t", "redis.password=Password1",
                     "DB_PASSWORD=admin123", "machine git.corp.internal login deploy password root2024",
                     "db01:5432:orders:orders:postgres"]
    d["test_settings.properties"] = ["db.password=p4ssw0rd", "spring.datasource.password=admin123"]
    d["db_setup.py"] = ["DB_PASSWORD = \"admin123\"", "conn = connect(password=\"secret1\")"]
    d["Settings.java"] = ["String password = \"p4ssw0rd\";"]
    d["robo3t.json"] = ["{\"credentials\": [{\"userName\": \"root\", \"userPassword\": \"${MONGO_PASSWORD}\", \"enabled\": true}]}",
                        "{\"bypass\": \"on1\", \"x\": 1}"]
    d["redis.json"] = ["{\"Redis\": \"cache.corp.internal:6379,password=${REDIS_PASSWORD},ssl=False\",",
                       " \"Local\": \"localhost:6379,abortConnect=false\", \"Empty\": \"cache:6379,password=,ssl=True\"}"]
    d[".profile"] = ["PGPASSWORD=$(cat ~/.pg); export PGPASSWORD", "PGPASSWORD='changeme'; export PGPASSWORD"]
    d[".dockercfg"] = ["{\"quay.io\": {\"auth\": \"${QUAY_AUTH}\", \"email\": \"\"}}"]
    d["types.ts"] = ["interface Login {", "  password: string;", "}", "const FIELD = { password: \"password\" };"]
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--per-kind", type=int, default=6)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    tree = os.path.join(a.out, "tree")
    expected = []
    for kind, (family, gen) in sorted(KINDS.items()):
        for i in range(a.per_kind):
            lines, needle, name, rules = gen(rng)
            rel = os.path.join(family, kind, str(i), name)
            os.makedirs(os.path.dirname(os.path.join(tree, rel)), exist_ok=True)
            with open(os.path.join(tree, rel), "w") as f:
                f.write("\n".join(lines) + "\n")
            # needles in file order; a repeated needle is the next line holding it,
            # another needle may share the line (two netrc machines on one line)
            start, prev = 0, None
            for nd, rl in (needle if isinstance(needle, list) else [(needle, rules)]):
                at = next(n for n, l in enumerate(lines) if (n > start if nd == prev else n >= start) and nd in l)
                start, prev = at, nd
                expected.append({"family": family, "kind": kind, "path": rel, "line": at + 1, "rules": rl})
    F.write_decoys_and_expected(tree, a.out, decoys(rng), expected)
    print(f"{len(expected)} planted secrets in {len(KINDS)} kinds, {len(decoys(random.Random(0)))} decoy files",
          file=sys.stderr)


if __name__ == "__main__":
    main()
