//! The sign-in page.

use leptos::prelude::*;

use super::document;

/// What the form shows again after a failed attempt (never the password).
#[derive(Debug, Clone, Default)]
pub struct Filled {
    pub tenant: String,
    pub username: String,
}

pub fn page(
    filled: &Filled,
    next: Option<&str>,
    notice: Option<&str>,
    problem: Option<&str>,
) -> String {
    let tenant = if filled.tenant.is_empty() {
        "default".to_owned()
    } else {
        filled.tenant.clone()
    };
    let username = filled.username.clone();
    let next = next.unwrap_or("/console/incidents").to_owned();
    let notice = notice.map(|n| {
        let n = n.to_owned();
        view! { <p class="notice" role="status">{n}</p> }
    });
    let problem = problem.map(|p| {
        let p = p.to_owned();
        view! { <p class="form-error" role="alert" id="sign-in-problem">{p}</p> }
    });
    document("Sign in", None, move || {
        view! {
            <div class="sign-in">
                <h1>"Sign in to AOI"</h1>
                {notice}
                <form method="post" action="/console/sign-in" class="card stack">
                    {problem}
                    <input type="hidden" name="next" value=next/>
                    <label for="tenant">"Tenant"</label>
                    <input id="tenant" name="tenant" type="text" value=tenant required=true autocomplete="organization"/>
                    <label for="username">"Username"</label>
                    <input id="username" name="username" type="text" value=username required=true autocomplete="username" autofocus=true/>
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" required=true autocomplete="current-password"/>
                    <button type="submit" class="primary">"Sign in"</button>
                </form>
            </div>
        }
        .into_any()
    })
}
