//! The guest/host ABI: the shared engine, which imports exist and which exports a module must
//! have. [`check_module`] applies it at upload time; loading applies it again.

use crate::WasmError;
use std::sync::OnceLock;
use std::time::Duration;
use wasmtime::{Config, Engine, ExternType, FuncType, Module, ValType};

/// The module every host function lives in.
pub const HOST_MODULE: &str = "aoi";

/// Host functions: name, signature. `http_get` is a read, `http_post` a write.
pub(crate) const HOST_FUNCTIONS: [(&str, &str); 3] = [
    ("http_get", "(i32, i32) -> i64"),
    ("http_post", "(i32, i32, i32, i32) -> i64"),
    ("log", "(i32, i32) -> ()"),
];

/// Required function exports: name, signature.
const EXPORTED_FUNCTIONS: [(&str, &str); 2] = [
    ("aoi_alloc", "(i32) -> i32"),
    ("aoi_call", "(i32, i32, i32, i32) -> i64"),
];

/// How often the engine's epoch advances; the time limit is counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();

/// The one engine of the process, shared by every module: fuel metering and epoch interruption
/// on, plain 32-bit core modules only. A ticker thread advances its epoch every [`EPOCH_TICK`],
/// which is what stops a guest that runs past its wall-clock limit.
pub(crate) fn engine() -> Result<&'static Engine, WasmError> {
    let engine = ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.consume_fuel(true);
        config.epoch_interruption(true);
        config.wasm_memory64(false);
        let engine = Engine::new(&config).map_err(|e| e.to_string())?;
        let ticking = engine.clone();
        std::thread::Builder::new()
            .name("aoi-wasm-epoch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    ticking.increment_epoch();
                }
            })
            .map_err(|e| format!("cannot start the epoch ticker thread: {e}"))?;
        Ok(engine)
    });
    engine.as_ref().map_err(|e| WasmError::Sandbox(e.clone()))
}

fn val(t: &ValType) -> String {
    match t {
        ValType::I32 => "i32".into(),
        ValType::I64 => "i64".into(),
        ValType::F32 => "f32".into(),
        ValType::F64 => "f64".into(),
        ValType::V128 => "v128".into(),
        ValType::Ref(r) => r.to_string(),
    }
}

/// A function type written as `(i32, i32) -> i64`.
pub(crate) fn signature(ty: &FuncType) -> String {
    let params: Vec<String> = ty.params().map(|p| val(&p)).collect();
    let results: Vec<String> = ty.results().map(|r| val(&r)).collect();
    let results = match results.len() {
        0 => "()".to_string(),
        1 => results.join(""),
        _ => format!("({})", results.join(", ")),
    };
    format!("({}) -> {results}", params.join(", "))
}

fn kind(ty: &ExternType) -> &'static str {
    match ty {
        ExternType::Func(_) => "a function",
        ExternType::Global(_) => "a global",
        ExternType::Table(_) => "a table",
        ExternType::Memory(_) => "a memory",
        ExternType::Tag(_) => "a tag",
    }
}

fn host_list() -> String {
    HOST_FUNCTIONS
        .iter()
        .map(|(n, s)| format!("{HOST_MODULE}.{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why one import is refused, or `None` when the host provides it.
fn refuse_import(module: &str, name: &str, ty: &ExternType) -> Option<String> {
    if module.starts_with("wasi") {
        return Some(
            "the sandbox has no filesystem, stdio, clock or environment (no WASI); only aoi.* host functions exist: build for wasm32-unknown-unknown"
                .into(),
        );
    }
    if module != HOST_MODULE {
        return Some(format!(
            "the sandbox provides only these imports: {}",
            host_list()
        ));
    }
    let Some((_, expected)) = HOST_FUNCTIONS.iter().find(|(n, _)| *n == name) else {
        return Some(format!(
            "no such host function; the host provides {}",
            host_list()
        ));
    };
    let ExternType::Func(f) = ty else {
        return Some(format!("is imported as {}; it is a function", kind(ty)));
    };
    let actual = signature(f);
    (actual != *expected).then(|| format!("has type {actual}; the host function is {expected}"))
}

/// Checks a module's imports and exports against the ABI.
pub(crate) fn check_abi(module: &Module) -> Result<(), WasmError> {
    for import in module.imports() {
        if let Some(reason) = refuse_import(import.module(), import.name(), &import.ty()) {
            return Err(WasmError::Import {
                module: import.module().to_string(),
                name: import.name().to_string(),
                reason,
            });
        }
    }
    match module.get_export("memory") {
        Some(ExternType::Memory(m)) if !m.is_64() && !m.is_shared() => {}
        Some(ExternType::Memory(_)) => {
            return Err(WasmError::Export {
                name: "memory".into(),
                reason: "must be a plain 32-bit memory (not memory64, not shared)".into(),
            });
        }
        Some(other) => {
            return Err(WasmError::Export {
                name: "memory".into(),
                reason: format!("is {}; it must be the module's memory", kind(&other)),
            });
        }
        None => {
            return Err(WasmError::Export {
                name: "memory".into(),
                reason: "is missing; export the linear memory as `memory`".into(),
            });
        }
    }
    for (name, expected) in EXPORTED_FUNCTIONS {
        let reason = match module.get_export(name) {
            Some(ExternType::Func(f)) if signature(&f) == expected => continue,
            Some(ExternType::Func(f)) => {
                format!("has type {}; it must be {expected}", signature(&f))
            }
            Some(other) => format!("is {}; it must be a function {expected}", kind(&other)),
            None => format!("is missing; export a function {expected}"),
        };
        return Err(WasmError::Export {
            name: name.into(),
            reason,
        });
    }
    Ok(())
}

/// Compiles `bytes` and checks the ABI, as at upload time: only `aoi.*` host functions may be
/// imported (any WASI import is refused, naming it), and `memory`, `aoi_alloc` and `aoi_call`
/// must be exported with their ABI types.
pub fn check_module(bytes: &[u8]) -> Result<(), WasmError> {
    compile(bytes).map(|_| ())
}

/// Compiles and checks; the module is what [`crate::WasmToolset`] instantiates per call.
pub(crate) fn compile(bytes: &[u8]) -> Result<Module, WasmError> {
    let module = Module::new(engine()?, bytes).map_err(|e| WasmError::Compile(format!("{e:#}")))?;
    check_abi(&module)?;
    Ok(module)
}
