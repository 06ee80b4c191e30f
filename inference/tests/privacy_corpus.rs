//! The redactor on a corpus of realistic secrets and near-misses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aoi_inference::privacy::{RedactionPolicy, Redactor};

const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi8\nZ1JkRm5hbWVzcGFjZXMvZGVmYXVsdC9wb2Rz\n-----END RSA PRIVATE KEY-----";

/// (line, the secret that must disappear, the placeholder kind that must appear).
fn secrets() -> Vec<(String, &'static str, &'static str)> {
    let rows: Vec<(&str, &'static str, &'static str)> = vec![
        // Authorization headers in app logs.
        (
            "2024-05-01T10:15:30Z INFO http request GET /api/v1/hotels headers={Authorization: Bearer 8f3kd9Xq2LmZp7Rt4WvY}",
            "8f3kd9Xq2LmZp7Rt4WvY",
            "bearer",
        ),
        (
            "curl -H 'Authorization: Bearer tok_live_a1B2c3D4e5F6g7H8' http://frontend:5000/hotels",
            "tok_live_a1B2c3D4e5F6g7H8",
            "bearer",
        ),
        (
            "level=debug msg=\"outgoing call\" auth=\"bearer Zm9vYmFyYmF6cXV4MTIzNDU2\"",
            "Zm9vYmFyYmF6cXV4MTIzNDU2",
            "bearer",
        ),
        (
            "Authorization: Basic YWRtaW46aHVudGVyMg==",
            "YWRtaW46aHVudGVyMg==",
            "basic-auth",
        ),
        // JWTs.
        (
            "GET /user?id=42 Authorization: Bearer JWT_HERE 200 12ms",
            JWT,
            "jwt",
        ),
        (
            "{\"level\":\"warn\",\"msg\":\"token expired\",\"token\":\"JWT_HERE\"}",
            JWT,
            "jwt",
        ),
        ("    JWT_TOKEN:  JWT_HERE", JWT, "jwt"),
        // Cloud keys.
        (
            "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
            "AKIAIOSFODNN7EXAMPLE",
            "aws-key",
        ),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws-secret",
        ),
        (
            "      AWS_SECRET_ACCESS_KEY:  wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE22",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE22",
            "aws-secret",
        ),
        (
            "Using temporary credentials ASIAY34FZKBOKMUTVV7A for role geo-reader",
            "ASIAY34FZKBOKMUTVV7A",
            "aws-key",
        ),
        (
            "  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n\",",
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
            "private-key",
        ),
        (
            "maps.api.key=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
            "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
            "gcp-key",
        ),
        (
            "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=hotelimgs;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq==;EndpointSuffix=core.windows.net",
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq==",
            "azure-key",
        ),
        (
            "Endpoint=sb://hotel-bus.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=3p9Zq8uVx2Lr7Yt1Wb6Nc4Md0Ke5Fg8Hj2Aa3Ss9Dd=",
            "3p9Zq8uVx2Lr7Yt1Wb6Nc4Md0Ke5Fg8Hj2Aa3Ss9Dd=",
            "azure-key",
        ),
        // Forge and chat tokens.
        (
            "GITHUB_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            "github-token",
        ),
        (
            "git clone https://oauth2:glpat-xR7kPq2mZ9vT4wLs8NbY@gitlab.corp/hotel/geo.git",
            "glpat-xR7kPq2mZ9vT4wLs8NbY",
            "gitlab-token",
        ),
        (
            "slack: {webhook: none, bot_token: xoxb-2837461928-1029384756-AbCdEfGhIjKlMnOp}",
            "xoxb-2837461928-1029384756-AbCdEfGhIjKlMnOp",
            "slack-token",
        ),
        (
            "export OPENAI_API_KEY=sk-proj-Tq3Xb9Lm2Rv7Kc4Wz8Ns1Jd6",
            "sk-proj-Tq3Xb9Lm2Rv7Kc4Wz8Ns1Jd6",
            "api-key",
        ),
        // Private keys.
        (
            "tls.key: |\nPEM_HERE\ntls.crt: ...",
            "MIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi8",
            "private-key",
        ),
        // Passwords in env dumps and describe output.
        (
            "MONGO_INITDB_ROOT_PASSWORD=s3cr3tR00t!",
            "s3cr3tR00t!",
            "password",
        ),
        (
            "      DB_PASSWORD:              hunter2-prod",
            "hunter2-prod",
            "password",
        ),
        (
            "PGPASSWORD=Pg_pa55w0rd psql -h postgres -U geo",
            "Pg_pa55w0rd",
            "password",
        ),
        ("REDIS_PASSWORD='r3dis pass'", "r3dis pass", "password"),
        (
            "    - name: MONGO_PASSWORD\n      value: \"m0ng0-Geo-2024\"",
            "m0ng0-Geo-2024",
            "password",
        ),
        (
            "{\"name\":\"RABBITMQ_DEFAULT_PASS\",\"value\":\"guestXYZ\"},{\"name\":\"DB_PASSWORD\",\"value\":\"jsonEnvPw9\"}",
            "jsonEnvPw9",
            "password",
        ),
        ("RABBITMQ_DEFAULT_PASS=guestXYZ", "guestXYZ", "password"),
        (
            "{\"level\":\"info\",\"body\":\"{\\\"user\\\":\\\"geo\\\",\\\"password\\\":\\\"esc4pedPw\\\"}\"}",
            "esc4pedPw",
            "password",
        ),
        (
            "  tls.key: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2UUlCQURBTkJna3Foa2lHOXcwQkFRRUZBQVND",
            "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2UUlCQURBTkJna3Foa2lHOXcwQkFRRUZBQVND",
            "private-key",
        ),
        (
            "  .dockerconfigjson: eyJhdXRocyI6eyJyZWdpc3RyeS5jb3JwIjp7ImF1dGgiOiJZV1J0YVc0NmNHRnpjdz09In19fQ==",
            "eyJhdXRocyI6eyJyZWdpc3RyeS5jb3JwIjp7ImF1dGgiOiJZV1J0YVc0NmNHRnpjdz09In19fQ==",
            "secret",
        ),
        (
            "    - name: JWT_SECRET\n      value: Kq8zP2mX7vR4tY9w",
            "Kq8zP2mX7vR4tY9w",
            "secret",
        ),
        // Config maps and config files.
        (
            "data:\n  password: cGFzc3dvcmQxMjM=\n  username: YWRtaW4=",
            "cGFzc3dvcmQxMjM=",
            "password",
        ),
        (
            "  \"password\": \"Tr0ub4dor&3\",",
            "Tr0ub4dor&3",
            "password",
        ),
        (
            "spring.datasource.password=Sp1ngPassw0rd",
            "Sp1ngPassw0rd",
            "password",
        ),
        ("db_password = \"toml-pw-77\"", "toml-pw-77", "password"),
        (
            "Server=sql01;Database=hotel;User Id=sa;Password=Str0ng!Pass;",
            "Str0ng!Pass",
            "password",
        ),
        (
            "client_secret: 9f8e7d6c5b4a3f2e1d0c",
            "9f8e7d6c5b4a3f2e1d0c",
            "secret",
        ),
        ("X-Api-Key: 7Hq2LmZp9Rt4WvYx", "7Hq2LmZp9Rt4WvYx", "secret"),
        ("requirepass f00bared-Redis", "f00bared-Redis", "password"),
        // CLIs.
        (
            "mongosh --username admin --password Adm1nPw --authenticationDatabase admin",
            "Adm1nPw",
            "password",
        ),
        (
            "mongo -u admin -p 'mongoPass#1' --host mongodb-geo",
            "mongoPass#1",
            "password",
        ),
        (
            "mysql -h mysql -u root -pMyR00tPw -e 'show databases'",
            "MyR00tPw",
            "password",
        ),
        (
            "redis-cli -h redis -a R3disAuthPw ping",
            "R3disAuthPw",
            "password",
        ),
        (
            "kubectl create secret generic db --from-literal=password=Lit3ralPw",
            "Lit3ralPw",
            "password",
        ),
        (
            "db.createUser({user: \"geo\", pwd: 'ge0Pass', roles: [\"readWrite\"]})",
            "ge0Pass",
            "password",
        ),
        // Connection strings: only the password part.
        (
            "DATABASE_URL=postgres://geo:pgS3cret@postgres.test-hotel-reservation:5432/geo",
            "pgS3cret",
            "password",
        ),
        (
            "{\"t\":{\"$date\":\"2024-05-01T10:15:30.000Z\"},\"s\":\"I\",\"c\":\"NETWORK\",\"msg\":\"connecting\",\"attr\":{\"uri\":\"mongodb://admin:m0ngoPw@mongodb-geo:27017/geo-db\"}}",
            "m0ngoPw",
            "password",
        ),
        (
            "REDIS_URL=redis://:r3disPw@redis:6379/0",
            "r3disPw",
            "password",
        ),
        (
            "amqp://rabbit:amqpPw42@rabbitmq:5672/%2f",
            "amqpPw42",
            "password",
        ),
        (
            "mongodb+srv://svc:srvPw99@cluster0.mongodb.net/hotel?retryWrites=true",
            "srvPw99",
            "password",
        ),
        (
            "Authentication failed: password 'Wr0ngGuess' rejected for user admin",
            "Wr0ngGuess",
            "password",
        ),
    ];
    rows.into_iter()
        .map(|(line, secret, kind)| {
            (
                line.replace("JWT_HERE", JWT).replace("PEM_HERE", PEM),
                secret,
                kind,
            )
        })
        .collect()
}

/// Lines that must come back unchanged with secrets on (identifiers off).
const NEAR_MISSES: &[&str] = &[
    "request_id=550e8400-e29b-41d4-a716-446655440000 status=200",
    "commit 3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f",
    "image: docker.io/library/nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31",
    "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
    "pod-template-hash=7d4f8b9c6",
    "geo-7d4f8b9c6-x2x9q   1/1     Running   0          3h",
    "kubectl get pods -n test-hotel-reservation -l app=geo",
    "kubectl describe pod geo-7d4f8b9c6-x2x9q -n test-hotel-reservation",
    "kubectl logs deployment/geo --tail=100",
    "Warning: password is required",
    "level=error msg=\"invalid password for user admin\"",
    "MONGO_INITDB_ROOT_PASSWORD_FILE=/run/secrets/mongo-root",
    "PASSWORD_FILE=/etc/app/password",
    "      DB_PASSWORD:  <set to the key 'password' in secret 'mongo-creds'>  Optional: false",
    "        secretKeyRef:\n          name: mongo-creds\n          key: password",
    "    - name: DB_PASSWORD\n      valueFrom:\n        secretKeyRef:",
    "  password: \"\"",
    "PASSWORD=",
    "password: ${DB_PASSWORD}",
    "password: {{ .Values.mongodb.password }}",
    "ALLOW_EMPTY_PASSWORD=yes",
    "password_min_length: 12",
    "automountServiceAccountToken: false",
    "existingSecret: mongo-creds",
    "secretName: geo-tls",
    "token_expiry=3600",
    "max_tokens: 1024",
    "PWD=/app",
    "OLDPWD=/home/app",
    "ports:\n- containerPort: 27017\n  protocol: TCP",
    "listening on 0.0.0.0:8080",
    "2024-05-01T10:15:30.123456Z started in 12:34:56",
    "version 1.2.3 (go1.21.5)",
    "mysql -h mysql -P 3306 -u root -p",
    "mongosh --host mongodb-geo --port 27017 --password",
    "Failed password for invalid user admin from port 22 ssh2",
    "postgres://geo@postgres:5432/geo",
    "postgres://geo:${PGPASSWORD}@postgres:5432/geo",
    "WWW-Authenticate: Bearer realm=\"api\", error=\"invalid_token\"",
    "The bearer token is missing",
    "Events: Normal  Pulled  2m  kubelet  Successfully pulled image \"yinfangchen/geo:app3\"",
    "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
    "uid: 0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e\nresourceVersion: \"123456\"",
    "password: ********",
    "https://10.96.0.1:443/api/v1/namespaces/test-hotel-reservation/pods",
    "user@example",
    "bypass: true",
    "tests pass: 12, fail: 0",
    "compass=north",
    "Data\n====\npassword:  12 bytes\nusername:  5 bytes",
    "mongo-creds   Opaque   2      3d",
    "  tls.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMvakNDQWVhZ0F3SUJBZ0lCQURBTkJna3Fo",
];

fn secrets_only() -> Redactor {
    Redactor::new(RedactionPolicy::secrets_only())
}

#[test]
fn the_corpus_is_large_enough() {
    assert!(secrets().len() >= 40, "{}", secrets().len());
    assert!(NEAR_MISSES.len() >= 40, "{}", NEAR_MISSES.len());
}

#[test]
fn every_secret_is_replaced_by_its_placeholder_and_restored() {
    for (line, secret, kind) in secrets() {
        let mut redactor = secrets_only();
        let redacted = redactor.redact(&line);
        assert!(!redacted.contains(secret), "{secret} left in {redacted:?}");
        assert!(
            redacted.contains(&format!("<<{kind}:1>>")),
            "no <<{kind}:1>> in {redacted:?}"
        );
        assert_eq!(redactor.restore(&redacted), line);
        assert_eq!(redactor.redact(&redacted), redacted, "redacting twice");
    }
}

#[test]
fn near_misses_are_left_alone() {
    for line in NEAR_MISSES {
        let mut redactor = secrets_only();
        assert_eq!(&redactor.redact(line), line);
        assert!(redactor.is_empty());
        assert_eq!(&redactor.restore(line), line);
    }
}

#[test]
fn only_the_password_of_a_connection_string_is_replaced() {
    let mut redactor = secrets_only();
    let redacted = redactor.redact("DATABASE_URL=postgres://geo:pgS3cret@postgres:5432/geo");
    assert_eq!(
        redacted,
        "DATABASE_URL=postgres://geo:<<password:1>>@postgres:5432/geo"
    );
}

#[test]
fn placeholders_are_stable_within_a_session() {
    let mut redactor = secrets_only();
    let a = redactor.redact("DB_PASSWORD=alpha-Pw1");
    let b = redactor.redact("password: alpha-Pw1\nother_password: beta-Pw2");
    assert_eq!(a, "DB_PASSWORD=<<password:1>>");
    assert_eq!(
        b,
        "password: <<password:1>>\nother_password: <<password:2>>"
    );
    let c = redactor.redact(&format!(
        "token {JWT} and AKIAIOSFODNN7EXAMPLE and again {JWT}"
    ));
    assert_eq!(c, "token <<jwt:1>> and <<aws-key:1>> and again <<jwt:1>>");
    assert_eq!(redactor.len(), 4);
    // A value seen once is hidden wherever it comes back, labelled or not.
    assert_eq!(
        redactor.redact("log in with beta-Pw2 now; not beta-Pw23"),
        "log in with <<password:2>> now; not beta-Pw23"
    );
    assert_eq!(
        redactor.restore("kubectl exec geo -- env DB_PASSWORD=<<password:2>> <<password:9>>"),
        "kubectl exec geo -- env DB_PASSWORD=beta-Pw2 <<password:9>>",
        "unknown placeholders stay"
    );
    // A fresh session starts numbering again and knows nothing of the old one.
    let fresh = secrets_only();
    assert_eq!(fresh.restore("<<password:1>>"), "<<password:1>>");
}

#[test]
fn identifiers_only_when_the_tenant_asks() {
    let line = "pod geo-7d4f8b9c6-x2x9q at 10.244.1.17 (fe80::1ff:fe23:4567:890a) on node-3.corp.internal, owner ops@hotel.com";
    let mut off = secrets_only();
    assert_eq!(off.redact(line), line);

    let mut on = Redactor::new(RedactionPolicy::with_identifiers());
    let redacted = on.redact(line);
    assert_eq!(
        redacted,
        "pod <<pod:1>> at <<ip:1>> (<<ip:2>>) on <<host:1>>, owner <<email:1>>"
    );
    assert_eq!(on.restore(&redacted), line);

    for kept in [
        "version 1.2.3",
        "release v10.2.0.1 is out",
        "kubectl get svc -n test-hotel-reservation",
        "app.kubernetes.io/name: geo",
        "listening on 0.0.0.0:8080 and 127.0.0.1:9090",
        "at 2024-05-01T10:15:30Z took 12:34:56",
        "replicaset geo-7d4f8b9c6 scaled",
        "reading config.yaml and main.go",
        "request_id=550e8400-e29b-41d4-a716-446655440000",
    ] {
        let mut on = Redactor::new(RedactionPolicy::with_identifiers());
        assert_eq!(on.redact(kept), kept);
    }
}

#[test]
fn every_corpus_line_round_trips_with_identifiers_on() {
    let mut redactor = Redactor::new(RedactionPolicy::with_identifiers());
    for (line, _, _) in secrets() {
        let redacted = redactor.redact(&line);
        assert_eq!(redactor.restore(&redacted), line);
    }
    for line in NEAR_MISSES {
        let redacted = redactor.redact(line);
        assert_eq!(&redactor.restore(&redacted), line);
    }
}

#[test]
fn restored_json_values_keep_their_shape() {
    let mut redactor = secrets_only();
    let redacted = redactor.redact("MONGO_PASSWORD=\"quote\\\"d\"");
    assert!(redacted.contains("<<password:1>>"), "{redacted}");
    let value = serde_json::json!({"command": "mongosh -p <<password:1>>", "n": 1});
    let restored = redactor.restore_json(&value);
    assert_eq!(restored["command"], "mongosh -p quote\\\"d");
    assert_eq!(restored["n"], 1);
}
