//! Which imported callables make a pickle dangerous to load.
//!
//! The lists are the facts picklescan 1.0.5 and modelscan judge by: modules whose every
//! name is dangerous (`os`, `subprocess`, ...; their submodules too), and single
//! dangerous names in otherwise ordinary modules (`builtins.eval`, `functools.partial`,
//! ...). A name that cannot be read statically (a `STACK_GLOBAL` fed by something other
//! than strings) is `unknown`, and dangerous.

/// Modules all of whose callables (and whose submodules') are dangerous.
const WHOLE_MODULES: &[&str] = &[
    "aiohttp",
    "asyncio",
    "bdb",
    "commands",
    "ctypes",
    "httplib",
    "numpy.f2py",
    "numpy.testing._private.utils",
    "nt",
    "posix",
    "os",
    "requests.api",
    "runpy",
    "shutil",
    "socket",
    "ssl",
    "subprocess",
    "sys",
    "cProfile",
    "distutils.file_util",
    "pdb",
    "pickle",
    "_pickle",
    "pip",
    "pty",
    "profile",
    "pydoc",
    "test",
    "timeit",
    "urllib.request",
    "uuid",
    "venv",
    "webbrowser",
    "_osx_support",
    "_aix_support",
    "_pyrepl",
];

/// Builtins that evaluate, compile, open or reach any attribute.
const BUILTINS: &[&str] = &[
    "eval",
    "compile",
    "getattr",
    "apply",
    "exec",
    "open",
    "breakpoint",
];
/// `operator` getters that reach any attribute or call any method.
const OPERATORS: &[&str] = &["attrgetter", "itemgetter", "methodcaller"];

/// Dangerous callables by module (names may be dotted: `Class.method`).
const NAMES: &[(&str, &[&str])] = &[
    // protocols 0-2 name them `__builtin__`, 3+ `builtins`
    ("__builtin__", BUILTINS),
    ("builtins", BUILTINS),
    (
        "cloudpickle.cloudpickle",
        &[
            "_builtin_type",
            "_make_function",
            "_function_setstate",
            "_make_cell",
            "_make_empty_cell",
            "subimport",
        ],
    ),
    ("types", &["CodeType"]),
    ("functools", &["partial"]),
    ("logging", &["FileHandler"]),
    ("_io", &["FileIO"]),
    ("_operator", OPERATORS),
    ("operator", OPERATORS),
    ("code", &["InteractiveInterpreter.runcode"]),
    ("doctest", &["debug_script"]),
    ("ensurepip", &["_run_pip"]),
    (
        "idlelib.autocomplete",
        &["AutoComplete.get_entity", "AutoComplete.fetch_completions"],
    ),
    ("idlelib.calltip", &["Calltip.fetch_tip", "get_entity"]),
    ("idlelib.debugobj", &["ObjectTreeItem.SetText"]),
    (
        "idlelib.pyshell",
        &[
            "ModifiedInterpreter.runcode",
            "ModifiedInterpreter.runcommand",
        ],
    ),
    ("idlelib.run", &["Executive.runcode"]),
    ("imaplib", &["IMAP4_stream"]),
    ("lib2to3.pgen2.grammar", &["Grammar.loads"]),
    ("lib2to3.pgen2.pgen", &["ParserGenerator.make_label"]),
    ("pkgutil", &["resolve_name"]),
    ("torch._dynamo.guards", &["GuardBuilder.get"]),
    ("torch._inductor.codecache", &["compile_file"]),
    (
        "torch.fx.experimental.symbolic_shapes",
        &["ShapeEnv.evaluate_guards_expression"],
    ),
    ("torch.jit.unsupported_tensor_ops", &["execWrapper"]),
    ("torch.serialization", &["load"]),
    ("torch.utils._config_module", &["ConfigModule.load_config"]),
    (
        "torch.utils.bottleneck.__main__",
        &["run_cprofile", "run_autograd_prof"],
    ),
    ("torch.utils.collect_env", &["run"]),
    (
        "torch.utils.data.datapipes.utils.decoder",
        &["basichandlers"],
    ),
    ("trace", &["Trace.run", "Trace.runctx"]),
];

/// The placeholder for a module or name that could not be read statically.
pub const UNKNOWN: &str = "unknown";

/// Whether importing `module`.`name` makes a pickle dangerous to load.
pub fn dangerous(module: &str, name: &str) -> bool {
    if module.contains(UNKNOWN) || name.contains(UNKNOWN) {
        return true;
    }
    if let Some((_, names)) = NAMES.iter().find(|(m, _)| *m == module) {
        if names.contains(&name) {
            return true;
        }
    }
    // the module itself or any parent package listed whole
    let mut m = module;
    loop {
        if WHOLE_MODULES.contains(&m) {
            return true;
        }
        match m.rfind('.') {
            Some(i) => m = &m[..i],
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dangerous_modules_names_and_submodules() {
        for (m, n) in [
            ("os", "system"),
            ("posix", "system"),
            ("subprocess", "Popen"),
            ("builtins", "eval"),
            ("__builtin__", "exec"),
            ("socket", "create_connection"),
            ("runpy", "_run_code"),
            ("os.path", "join"),
            ("urllib.request.x", "urlopen"),
            ("unknown", "system"),
            ("functools", "partial"),
        ] {
            assert!(dangerous(m, n), "{m}.{n}");
        }
        for (m, n) in [
            ("collections", "OrderedDict"),
            ("torch._utils", "_rebuild_tensor_v2"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("builtins", "set"),
            ("functools", "reduce"),
            ("ossify", "x"),
            ("urllib", "parse"),
        ] {
            assert!(!dangerous(m, n), "{m}.{n}");
        }
    }
}
