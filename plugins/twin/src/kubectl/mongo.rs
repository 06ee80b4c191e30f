//! A MongoDB 4.4 legacy shell (`mongo --eval`) inside the twin's database pods: user and role
//! management on `Namespace::databases`, with Mongo's authentication and localhost exception.

use super::mongojs::{Expr, JsVal, tojson};
use crate::cluster::{DbState, DbUser};

/// How the shell was started: `mongo [DB] [-u U -p P] [--authenticationDatabase A] [--quiet]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MongoLogin {
    pub db: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub auth_db: Option<String>,
    pub quiet: bool,
    pub tls: bool,
    /// `mongosh` rather than `mongo`.
    pub mongosh: bool,
}

pub(super) const VERSION: &str = "4.4.6";

pub(super) fn exit_err(out: String, code: i32) -> String {
    let mut s = out;
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(&format!("command terminated with exit code {code}"));
    s
}

pub(super) fn shell_error(msg: &str) -> String {
    format!(
        "uncaught exception: {msg} :\n_getErrorWithCode@src/mongo/shell/utils.js:25:13\n@(shell eval):1:1"
    )
}

pub(super) struct Session<'a> {
    pub(super) state: &'a mut DbState,
    pub(super) db: String,
    pub(super) user: Option<(String, String)>,
    pub(super) out: Vec<String>,
    pub(super) changed: bool,
}

fn role_val(r: &str) -> JsVal {
    let (role, db) = r.split_once('@').unwrap_or((r, "admin"));
    JsVal::Obj(vec![
        ("role".into(), JsVal::Str(role.into())),
        ("db".into(), JsVal::Str(db.into())),
    ])
}

fn user_doc(name: &str, u: &DbUser) -> JsVal {
    JsVal::Obj(vec![
        ("_id".into(), JsVal::Str(format!("{}.{name}", u.db))),
        (
            "userId".into(),
            JsVal::Raw(format!(
                "UUID(\"{}\")",
                super::view::uid_for(&[&u.db, name])
            )),
        ),
        ("user".into(), JsVal::Str(name.into())),
        ("db".into(), JsVal::Str(u.db.clone())),
        (
            "roles".into(),
            JsVal::Arr(u.roles.iter().map(|r| role_val(r)).collect()),
        ),
        (
            "mechanisms".into(),
            JsVal::Arr(vec![
                JsVal::Str("SCRAM-SHA-1".into()),
                JsVal::Str("SCRAM-SHA-256".into()),
            ]),
        ),
    ])
}

impl Session<'_> {
    fn can_admin_users(&self) -> bool {
        if self.state.users.is_empty() {
            return true; // localhost exception
        }
        let Some((u, _)) = &self.user else {
            return false;
        };
        self.state.users.get(u).is_some_and(|u| {
            u.roles.iter().any(|r| {
                let role = r.split('@').next().unwrap_or("");
                matches!(
                    role,
                    "root" | "userAdmin" | "userAdminAnyDatabase" | "dbOwner" | "__system"
                )
            })
        })
    }

    pub(super) fn require_auth(&self, cmd: &str, db: &str) -> Result<(), String> {
        if self.state.users.is_empty() || self.user.is_some() {
            return Ok(());
        }
        Err(shell_error(&format!(
            "Error: command {cmd} requires authentication on {db}"
        )))
    }

    fn require_admin(&self, cmd: &str, db: &str, name: &str) -> Result<(), String> {
        self.require_auth(cmd, db)?;
        if self.can_admin_users() {
            Ok(())
        } else {
            Err(shell_error(&format!(
                "Error: not authorized on {db} to execute command {{ {cmd}: \"{name}\", $db: \"{db}\" }}"
            )))
        }
    }

    fn roles_from(&self, v: Option<&JsVal>, db: &str) -> Result<Vec<String>, String> {
        let Some(JsVal::Arr(a)) = v else {
            return Err(shell_error("Error: roles must be an array"));
        };
        a.iter()
            .map(|r| match r {
                JsVal::Str(s) => Ok(format!("{s}@{db}")),
                JsVal::Obj(_) => {
                    let role = r.get("role").and_then(JsVal::as_str).unwrap_or_default();
                    let rdb = r.get("db").and_then(JsVal::as_str).unwrap_or(db);
                    Ok(format!("{role}@{rdb}"))
                }
                _ => Err(shell_error("Error: invalid role")),
            })
            .collect()
    }

    fn find_user(&self, name: &str, db: &str) -> Result<(), String> {
        if self.state.users.get(name).is_some_and(|u| u.db == db) {
            Ok(())
        } else {
            Err(shell_error(&format!(
                "Error: Could not find user \"{name}\" for db \"{db}\""
            )))
        }
    }

    fn db_method(&mut self, db: &str, m: &str, args: Vec<JsVal>) -> Result<JsVal, String> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(JsVal::Undefined);
        let name_arg = |i: usize| {
            args.get(i)
                .and_then(JsVal::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match m {
            "getSiblingDB" | "getSisterDB" => Ok(JsVal::Db(name_arg(0))),
            "getName" => Ok(JsVal::Str(db.into())),
            "version" => Ok(JsVal::Str(VERSION.into())),
            "getMongo" => Ok(JsVal::Raw("connection to 127.0.0.1:27017".into())),
            "createUser" => {
                let doc = arg(0);
                let name = doc
                    .get("user")
                    .and_then(JsVal::as_str)
                    .unwrap_or_default()
                    .to_string();
                self.require_admin("createUser", db, &name)?;
                let pwd = doc
                    .get("pwd")
                    .and_then(JsVal::as_str)
                    .unwrap_or_default()
                    .to_string();
                let roles = self.roles_from(doc.get("roles"), db)?;
                if self.state.users.contains_key(&name) {
                    return Err(shell_error(&format!(
                        "Error: couldn't add user: User \"{name}@{db}\" already exists"
                    )));
                }
                self.state.users.insert(
                    name.clone(),
                    DbUser {
                        password: pwd,
                        db: db.into(),
                        roles: roles.into_iter().collect(),
                    },
                );
                self.changed = true;
                let shown: Vec<(String, JsVal)> = match doc {
                    JsVal::Obj(f) => f.into_iter().filter(|(k, _)| k != "pwd").collect(),
                    _ => vec![],
                };
                self.out.push(format!(
                    "Successfully added user: {}",
                    tojson(&JsVal::Obj(shown), "")
                ));
                Ok(JsVal::Undefined)
            }
            "updateUser" => {
                let name = name_arg(0);
                self.require_admin("updateUser", db, &name)?;
                self.find_user(&name, db)?;
                let doc = arg(1);
                let roles = match doc.get("roles") {
                    Some(r) => Some(self.roles_from(Some(r), db)?),
                    None => None,
                };
                if let Some(u) = self.state.users.get_mut(&name) {
                    if let Some(p) = doc.get("pwd").and_then(JsVal::as_str) {
                        u.password = p.into();
                    }
                    if let Some(r) = roles {
                        u.roles = r.into_iter().collect();
                    }
                }
                self.changed = true;
                Ok(JsVal::Undefined)
            }
            "changeUserPassword" => {
                let name = name_arg(0);
                self.require_admin("updateUser", db, &name)?;
                self.find_user(&name, db)?;
                if let Some(u) = self.state.users.get_mut(&name) {
                    u.password = name_arg(1);
                }
                self.changed = true;
                Ok(JsVal::Undefined)
            }
            "grantRolesToUser" | "revokeRolesFromUser" => {
                let name = name_arg(0);
                self.require_admin(m, db, &name)?;
                self.find_user(&name, db)?;
                let roles = self.roles_from(args.get(1), db)?;
                if let Some(u) = self.state.users.get_mut(&name) {
                    for r in roles {
                        if m == "grantRolesToUser" {
                            u.roles.insert(r);
                        } else {
                            u.roles.remove(&r);
                        }
                    }
                }
                self.changed = true;
                Ok(JsVal::Undefined)
            }
            "dropUser" | "removeUser" => {
                let name = name_arg(0);
                self.require_admin("dropUser", db, &name)?;
                let hit = self.state.users.get(&name).is_some_and(|u| u.db == db);
                if hit {
                    self.state.users.remove(&name);
                    self.changed = true;
                }
                Ok(JsVal::Bool(hit))
            }
            "dropAllUsers" => {
                self.require_admin("dropAllUsersFromDatabase", db, "")?;
                let before = self.state.users.len();
                self.state.users.retain(|_, u| u.db != db);
                self.changed = true;
                Ok(JsVal::Num((before - self.state.users.len()) as f64))
            }
            "getUsers" => {
                self.require_auth("usersInfo", db)?;
                Ok(JsVal::Arr(self.users_in(db)))
            }
            "getUser" => {
                self.require_auth("usersInfo", db)?;
                let name = name_arg(0);
                Ok(self
                    .state
                    .users
                    .get(&name)
                    .filter(|u| u.db == db)
                    .map_or(JsVal::Null, |u| user_doc(&name, u)))
            }
            "auth" => {
                let (u, p) = match arg(0) {
                    JsVal::Obj(_) => {
                        let a = arg(0);
                        (
                            a.get("user")
                                .and_then(JsVal::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            a.get("pwd")
                                .and_then(JsVal::as_str)
                                .unwrap_or_default()
                                .to_string(),
                        )
                    }
                    _ => (name_arg(0), name_arg(1)),
                };
                let ok = self
                    .state
                    .users
                    .get(&u)
                    .is_some_and(|x| x.password == p && x.db == db);
                if ok {
                    self.user = Some((u, db.to_string()));
                    Ok(JsVal::Num(1.0))
                } else {
                    self.out.push("Error: Authentication failed.".into());
                    Ok(JsVal::Num(0.0))
                }
            }
            "runCommand" | "adminCommand" => {
                let target = if m == "adminCommand" {
                    "admin".to_string()
                } else {
                    db.to_string()
                };
                self.run_command(&target, arg(0))
            }
            "getCollectionNames" => {
                self.require_auth("listCollections", db)?;
                Ok(JsVal::Arr(
                    self.collections(db).into_iter().map(JsVal::Str).collect(),
                ))
            }
            "stats" => Ok(JsVal::Obj(vec![
                ("db".into(), JsVal::Str(db.into())),
                (
                    "collections".into(),
                    JsVal::Num(self.collections(db).len() as f64),
                ),
                ("ok".into(), JsVal::Num(1.0)),
            ])),
            other => Err(shell_error(&format!(
                "TypeError: db.{other} is not a function"
            ))),
        }
    }

    fn run_command(&mut self, db: &str, cmd: JsVal) -> Result<JsVal, String> {
        let (name, val) = match &cmd {
            JsVal::Obj(f) if !f.is_empty() => (f[0].0.clone(), f[0].1.clone()),
            JsVal::Str(s) => (s.clone(), JsVal::Num(1.0)),
            _ => return Err(shell_error("Error: invalid command")),
        };
        match name.as_str() {
            "usersInfo" => {
                self.require_auth("usersInfo", db)?;
                let users = match &val {
                    JsVal::Str(u) => self
                        .users_in(db)
                        .into_iter()
                        .filter(|d| d.get("user").and_then(JsVal::as_str) == Some(u))
                        .collect(),
                    JsVal::Obj(_) => {
                        let u = val
                            .get("user")
                            .and_then(JsVal::as_str)
                            .unwrap_or_default()
                            .to_string();
                        let udb = val
                            .get("db")
                            .and_then(JsVal::as_str)
                            .unwrap_or(db)
                            .to_string();
                        self.users_in(&udb)
                            .into_iter()
                            .filter(|d| d.get("user").and_then(JsVal::as_str) == Some(&u))
                            .collect()
                    }
                    _ => self.users_in(db),
                };
                Ok(JsVal::Obj(vec![
                    ("users".into(), JsVal::Arr(users)),
                    ("ok".into(), JsVal::Num(1.0)),
                ]))
            }
            "ping" | "isMaster" | "hello" | "buildInfo" => {
                Ok(JsVal::Obj(vec![("ok".into(), JsVal::Num(1.0))]))
            }
            "listDatabases" => Ok(JsVal::Obj(vec![
                (
                    "databases".into(),
                    JsVal::Arr(
                        self.dbs()
                            .into_iter()
                            .map(|d| JsVal::Obj(vec![("name".into(), JsVal::Str(d))]))
                            .collect(),
                    ),
                ),
                ("ok".into(), JsVal::Num(1.0)),
            ])),
            "createUser"
            | "grantRolesToUser"
            | "revokeRolesFromUser"
            | "dropUser"
            | "updateUser" => {
                let user = match &val {
                    JsVal::Str(s) => s.clone(),
                    _ => String::new(),
                };
                let mut args = vec![JsVal::Str(user.clone())];
                if name == "createUser" {
                    let mut doc = vec![("user".to_string(), JsVal::Str(user))];
                    if let JsVal::Obj(f) = &cmd {
                        doc.extend(f.iter().skip(1).cloned());
                    }
                    args = vec![JsVal::Obj(doc)];
                } else if let Some(r) = cmd.get("roles") {
                    args.push(r.clone());
                } else if let JsVal::Obj(f) = &cmd {
                    args.push(JsVal::Obj(f.iter().skip(1).cloned().collect()));
                }
                let before = self.out.len();
                self.db_method(db, &name, args)?;
                self.out.truncate(before);
                Ok(JsVal::Obj(vec![("ok".into(), JsVal::Num(1.0))]))
            }
            other => Ok(JsVal::Obj(vec![
                ("ok".into(), JsVal::Num(0.0)),
                (
                    "errmsg".into(),
                    JsVal::Str(format!("no such command: '{other}'")),
                ),
                ("code".into(), JsVal::Num(59.0)),
                ("codeName".into(), JsVal::Str("CommandNotFound".into())),
            ])),
        }
    }

    pub(super) fn users_in(&self, db: &str) -> Vec<JsVal> {
        self.state
            .users
            .iter()
            .filter(|(_, u)| u.db == db)
            .map(|(n, u)| user_doc(n, u))
            .collect()
    }

    pub(super) fn collections(&self, db: &str) -> Vec<String> {
        if db == self.state.name && !db.is_empty() {
            vec![db.trim_end_matches("-db").to_string()]
        } else if db == "admin" {
            vec!["system.users".into(), "system.version".into()]
        } else {
            vec![]
        }
    }

    pub(super) fn dbs(&self) -> Vec<String> {
        let mut v = vec![
            "admin".to_string(),
            "config".to_string(),
            "local".to_string(),
        ];
        if !self.state.name.is_empty() {
            v.push(self.state.name.clone());
        }
        v.sort();
        v
    }

    pub(super) fn eval(&mut self, e: &Expr) -> Result<JsVal, String> {
        match e {
            Expr::Lit(v) => Ok(v.clone()),
            Expr::Ident(id) => match id.as_str() {
                "db" => Ok(JsVal::Db(self.db.clone())),
                other => Err(shell_error(&format!(
                    "ReferenceError: {other} is not defined"
                ))),
            },
            Expr::Obj(f) => Ok(JsVal::Obj(
                f.iter()
                    .map(|(k, v)| Ok((k.clone(), self.eval(v)?)))
                    .collect::<Result<_, String>>()?,
            )),
            Expr::Arr(a) => Ok(JsVal::Arr(
                a.iter()
                    .map(|v| self.eval(v))
                    .collect::<Result<_, String>>()?,
            )),
            Expr::Assign(name, v) => {
                let v = self.eval(v)?;
                if name == "db"
                    && let JsVal::Db(d) = &v {
                        self.db = d.clone();
                    }
                Ok(v)
            }
            Expr::Member(obj, m) => match self.eval(obj)? {
                JsVal::Db(d) => Ok(JsVal::Coll(d, m.clone())),
                JsVal::Obj(f) => Ok(f
                    .into_iter()
                    .find(|(k, _)| k == m)
                    .map_or(JsVal::Undefined, |(_, v)| v)),
                JsVal::Arr(a) if m == "length" => Ok(JsVal::Num(a.len() as f64)),
                _ => Ok(JsVal::Undefined),
            },
            Expr::Call(f, args) => {
                let args: Vec<JsVal> = args
                    .iter()
                    .map(|a| self.eval(a))
                    .collect::<Result<_, String>>()?;
                match f.as_ref() {
                    Expr::Ident(n) if n == "print" => {
                        self.out.push(
                            args.iter()
                                .map(|a| match a {
                                    JsVal::Str(s) => s.clone(),
                                    other => tojson(other, ""),
                                })
                                .collect::<Vec<_>>()
                                .join(" "),
                        );
                        Ok(JsVal::Undefined)
                    }
                    Expr::Ident(n) if n == "printjson" || n == "printjsononeline" => {
                        self.out
                            .push(args.first().map_or("undefined".into(), |a| tojson(a, "")));
                        Ok(JsVal::Undefined)
                    }
                    Expr::Ident(n) if n == "tojson" || n == "JSON.stringify" => Ok(JsVal::Str(
                        args.first().map_or("undefined".into(), |a| tojson(a, "")),
                    )),
                    Expr::Member(obj, m) => match self.eval(obj)? {
                        JsVal::Db(d) => self.db_method(&d, m, args),
                        JsVal::Coll(d, c) => self.coll_method(&d, &c, m),
                        _ => Err(shell_error(&format!("TypeError: {m} is not a function"))),
                    },
                    other => Err(shell_error(&format!(
                        "TypeError: {other:?} is not a function"
                    ))),
                }
            }
        }
    }

    fn coll_method(&mut self, db: &str, coll: &str, m: &str) -> Result<JsVal, String> {
        if db == "admin" || db == "config" || db == "local" {
            // `db.getSiblingDB` style mistakes like db.admin.getUsers()
        }
        self.require_auth(
            if m == "count" || m == "countDocuments" {
                "count"
            } else {
                "find"
            },
            db,
        )?;
        let authorized = self.state.users.is_empty()
            || self.user.as_ref().is_some_and(|(u, _)| {
                self.state.users.get(u).is_some_and(|x| {
                    x.roles.iter().any(|r| {
                        let (role, rdb) = r.split_once('@').unwrap_or((r, ""));
                        role == "root"
                            || role.ends_with("AnyDatabase")
                            || ((role == "read" || role == "readWrite" || role == "dbOwner")
                                && rdb == db)
                    })
                })
            });
        if !authorized {
            return Err(shell_error(&format!(
                "Error: not authorized on {db} to execute command {{ {}: \"{coll}\", $db: \"{db}\" }}",
                if m == "count" { "count" } else { "find" }
            )));
        }
        match m {
            "count" | "countDocuments" | "estimatedDocumentCount" => Ok(JsVal::Num(
                if self.collections(db).iter().any(|c| c == coll) {
                    80.0
                } else {
                    0.0
                },
            )),
            "find" | "findOne" => Ok(if m == "findOne" {
                JsVal::Null
            } else {
                JsVal::Raw(String::new())
            }),
            "getName" => Ok(JsVal::Str(coll.into())),
            other => Err(shell_error(&format!(
                "TypeError: db.{coll}.{other} is not a function"
            ))),
        }
    }
}
