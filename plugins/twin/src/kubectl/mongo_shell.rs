//! `Cluster::mongo_eval`: connecting, authenticating and running a script in the shell.

use super::mongo::{MongoLogin, Session, VERSION, exit_err, shell_error};
use super::mongojs::{self, Expr, JsVal, Stmt, tojson};
use crate::cluster::{Cluster, ContainerState, DbState};
use std::collections::BTreeMap;

impl Cluster {
    /// Runs `script` in a mongo shell exec'd into `pod`. Ok is the shell's output; Err is what
    /// kubectl prints when the exec fails (with the exit code line when the shell exits non-zero).
    pub fn mongo_eval(
        &mut self,
        ns: &str,
        pod: &str,
        login: &MongoLogin,
        script: &str,
    ) -> Result<String, String> {
        let namespace = self
            .namespace(ns)
            .ok_or_else(|| format!("Error from server (NotFound): pods \"{pod}\" not found"))?;
        let p = namespace
            .pods
            .get(pod)
            .ok_or_else(|| format!("Error from server (NotFound): pods \"{pod}\" not found"))?;
        let container = p
            .spec
            .containers
            .first()
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let running = p
            .containers
            .iter()
            .any(|c| matches!(c.state, ContainerState::Running { .. }));
        if !running || p.deleting {
            return Err(format!(
                "error: unable to upgrade connection: container not found (\"{container}\")"
            ));
        }
        let bin = if login.mongosh { "mongosh" } else { "mongo" };
        let is_mongo = namespace.databases.contains_key(&p.deployment)
            || p.spec.containers.iter().any(|c| c.image.contains("mongo"));
        if !is_mongo || login.mongosh {
            return Err(exit_err(
                format!(
                    "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{bin}\": executable file not found in $PATH: unknown"
                ),
                126,
            ));
        }
        let service = p.deployment.clone();
        let mut state = namespace
            .databases
            .get(&service)
            .cloned()
            .unwrap_or(DbState {
                name: String::new(),
                users: BTreeMap::new(),
                require_tls: false,
            });
        let auth_db = login.auth_db.clone().unwrap_or_else(|| login.db.clone());
        let mut uri = format!("mongodb://127.0.0.1:27017/{}?", login.db);
        if login.user.is_some() {
            uri.push_str(&format!("authSource={auth_db}&"));
        }
        uri.push_str("compressors=disabled&gssapiServiceName=mongodb");
        let mut head = Vec::new();
        if !login.quiet {
            head.push(format!("MongoDB shell version v{VERSION}"));
            head.push(format!("connecting to: {uri}"));
        }
        let connect_fail = |head: &mut Vec<String>, msg: &str| {
            head.push(format!("{msg} :\nconnect@src/mongo/shell/mongo.js:374:17\n@(connect):2:6\nexception: connect failed\nexiting with code 1"));
            exit_err(head.join("\n"), 1)
        };
        if state.require_tls && !login.tls {
            return Err(connect_fail(
                &mut head,
                "Error: network error while attempting to run command 'isMaster' on host '127.0.0.1:27017' ",
            ));
        }
        let mut user = None;
        if let Some(u) = &login.user {
            let ok = state
                .users
                .get(u)
                .is_some_and(|x| Some(&x.password) == login.password.as_ref() && x.db == auth_db);
            if !ok {
                return Err(connect_fail(&mut head, "Error: Authentication failed."));
            }
            user = Some((u.clone(), auth_db.clone()));
        }
        if !login.quiet {
            head.push(format!(
                "Implicit session: session {{ \"id\" : UUID(\"{}\") }}",
                super::view::uid_for(&[pod, &self.now.to_string()])
            ));
            head.push(format!("MongoDB server version: {VERSION}"));
        }
        let stmts = match mongojs::parse(script) {
            Ok(s) => s,
            Err(e) => {
                head.push(format!("uncaught exception: {e} :\n@(shell eval):1:1"));
                return Err(exit_err(head.join("\n"), 1));
            }
        };
        let mut session = Session {
            state: &mut state,
            db: login.db.clone(),
            user,
            out: Vec::new(),
            changed: false,
        };
        let mut failure = None;
        let mut last = JsVal::Undefined;
        for s in &stmts {
            match s {
                Stmt::Use(d) => {
                    session.db = d.clone();
                    session.out.push(format!("switched to db {d}"));
                    last = JsVal::Undefined;
                }
                Stmt::Show(what) => {
                    last = JsVal::Undefined;
                    match what.as_str() {
                        "users" => {
                            let db = session.db.clone();
                            if let Err(e) = session.require_auth("usersInfo", &db) {
                                failure = Some(e);
                                break;
                            }
                            for u in session.users_in(&db) {
                                session.out.push(tojson(&u, ""));
                            }
                        }
                        "dbs" | "databases" => {
                            let dbs = session.dbs();
                            let w = dbs.iter().map(String::len).max().unwrap_or(0) + 2;
                            for d in dbs {
                                session.out.push(format!("{d:<w$}0.000GB"));
                            }
                        }
                        "collections" | "tables" => {
                            let db = session.db.clone();
                            for c in session.collections(&db) {
                                session.out.push(c);
                            }
                        }
                        other => {
                            failure = Some(shell_error(&format!(
                                "Error: don't know how to show [{other}]"
                            )));
                            break;
                        }
                    }
                }
                Stmt::Expr(e) => match session.eval(e) {
                    Ok(v) => {
                        last = if matches!(e, Expr::Assign(..)) {
                            JsVal::Undefined
                        } else {
                            v
                        }
                    }
                    Err(err) => {
                        failure = Some(err);
                        break;
                    }
                },
            }
        }
        if failure.is_none() {
            match &last {
                JsVal::Undefined | JsVal::Raw(_) => {}
                JsVal::Db(d) => session.out.push(d.clone()),
                JsVal::Str(s) => session.out.push(s.clone()),
                other => session.out.push(tojson(other, "")),
            }
        }
        let changed = session.changed;
        let mut lines = head;
        lines.extend(session.out);
        if changed {
            if let Some(n) = self.namespace_mut(ns) {
                n.databases.insert(service, state);
            }
            self.reconcile();
        }
        let text = lines.join("\n");
        match failure {
            Some(e) => Err(exit_err(
                if text.is_empty() {
                    e
                } else {
                    format!("{text}\n{e}")
                },
                1,
            )),
            None => Ok(if text.is_empty() {
                text
            } else {
                format!("{text}\n")
            }),
        }
    }
}
