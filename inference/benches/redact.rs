//! `Redactor::redact` on typical prompts, with the one-pass prefilter (what `aoi serve` runs)
//! and with every detector scanning the text (`Redactor::with_full_scan`), side by side:
//!
//!     cargo bench -p aoi-inference --bench redact
//!
//! Each iteration redacts with a fresh redactor, as `POST /v1/chat/completions` does per request.

use aoi_inference::privacy::{RedactionPolicy, Redactor};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// What an SRE agent's prompt looks like: a question, `kubectl` output and application logs.
fn clean_observation() -> String {
    let mut text = String::from(
        "The checkout service answers 503 since 10:14 UTC. Find the cause.\n\n\
         $ kubectl get pods -n hotel-reservation\n\
         NAME                      READY   STATUS             RESTARTS   AGE\n",
    );
    for (i, name) in [
        "frontend",
        "geo",
        "profile",
        "rate",
        "recommendation",
        "reservation",
        "search",
        "user",
    ]
    .iter()
    .enumerate()
    {
        let status = if i == 5 {
            "CrashLoopBackOff"
        } else {
            "Running"
        };
        text.push_str(&format!(
            "{name:<26}1/1     {status:<18} {i}          3h{i}m\n"
        ));
    }
    text.push_str("\n$ kubectl logs deploy/reservation --tail 20\n");
    for i in 0..20 {
        text.push_str(&format!(
            "2026-11-26T10:14:{i:02}Z INFO reservation handler: request {i} for hotel {} took {} ms, cache miss, retrying with backoff\n",
            100 + i,
            12 + i * 3
        ));
    }
    text
}

/// The same observation with a few secrets in it (an env dump and a leaked header).
fn with_secrets() -> String {
    let mut text = clean_observation();
    text.push_str(
        "\n$ kubectl exec reservation -- env\n\
         PATH=/usr/local/sbin:/usr/local/bin\n\
         MONGO_PASSWORD=Mg0!pass-2026\n\
         AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n\
         STRIPE_API_KEY=sk-proj-4f9Xq2LmZp7Rt4WvY8b1c2d3\n\
         2026-11-26T10:14:21Z WARN outgoing call headers={Authorization: Bearer 8f3kd9Xq2LmZp7Rt4WvY}\n",
    );
    text
}

fn redact(c: &mut Criterion) {
    let prompts = [
        (
            "short question",
            "Is the checkout service healthy?".to_string(),
        ),
        ("clean observation", clean_observation()),
        ("observation with secrets", with_secrets()),
    ];
    for (policy_name, policy) in [
        ("secrets", RedactionPolicy::secrets_only()),
        ("secrets+identifiers", RedactionPolicy::with_identifiers()),
    ] {
        let mut group = c.benchmark_group(format!("redact/{policy_name}"));
        for (prompt_name, prompt) in &prompts {
            group.throughput(Throughput::Bytes(prompt.len() as u64));
            group.bench_with_input(
                BenchmarkId::new("prefilter", prompt_name),
                prompt,
                |b, text| b.iter(|| Redactor::new(policy).redact(black_box(text))),
            );
            group.bench_with_input(
                BenchmarkId::new("full scan", prompt_name),
                prompt,
                |b, text| {
                    b.iter(|| {
                        Redactor::new(policy)
                            .with_full_scan()
                            .redact(black_box(text))
                    })
                },
            );
        }
        group.finish();
    }
}

criterion_group!(benches, redact);
criterion_main!(benches);
