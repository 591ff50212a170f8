"""SQL built only from literals and placeholders (issue 5): a static check of every query in index/."""

from __future__ import annotations

import ast

from tests.support.engines import PROJECT_ROOT

# Static check: SQL text is only ever literals, placeholders and fixed fragments.

# sqlite3/aiosqlite's, and asyncpg's (the PostgreSQL store)
SQL_METHODS = {"execute", "executemany", "executescript", "fetch", "fetchrow", "fetchval", "cursor"}


def _is_const_strs(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_is_const_strs(e) for e in node.elts)
    return False


def _own_nodes(scope: ast.AST):
    """Nodes of a function or module body, not descending into nested functions or classes."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


class SqlChecker:
    """Flags SQL passed to execute*() that interpolates anything but placeholders or fixed text.

    Allowed in SQL: string literals; f-strings and `+` of allowed parts; the placeholder list
    `','.join('?' * len(x))`; module-level string constants; names bound only to allowed
    SQL, to the clause of `_scope_clause(...)`, or by a for loop over a literal table.
    """

    def __init__(self, source: str, filename: str):
        self.tree = ast.parse(source, filename)
        self.filename = filename
        self.module_consts = set()
        for node in self.tree.body:
            target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else getattr(node, "target", None)
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(target, ast.Name) and node.value is not None:
                if _is_const_strs(node.value):
                    self.module_consts.add(target.id)
        self.calls_checked = 0

    def _bindings(self, func: ast.AST, trusted: set[str]) -> dict[str, list[tuple]]:
        bindings: dict[str, list[tuple]] = {}

        def bind(target: ast.AST, kind: tuple) -> None:
            if isinstance(target, ast.Name):
                bindings.setdefault(target.id, []).append(kind)
            elif isinstance(target, (ast.Tuple, ast.List)):
                for elt in target.elts:
                    bind(elt, ("other",))

        def bind_value(target: ast.AST, value: ast.AST) -> None:
            if isinstance(target, (ast.Tuple, ast.List)):
                is_scope_clause = (
                    isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "_scope_clause"
                )
                for i, elt in enumerate(target.elts):
                    safe = is_scope_clause and i == 0
                    bind(elt, ("value", ast.Constant("")) if safe else ("other",))
            else:
                bind(target, ("value", value))

        if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = func.args
            for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
                if arg is not None:
                    kind = ("value", ast.Constant("")) if arg.arg in trusted else ("other",)
                    bindings.setdefault(arg.arg, []).append(kind)
        for node in _own_nodes(func):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    bind_value(target, node.value)
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                bind_value(node.target, node.value)
            elif isinstance(node, ast.AugAssign):
                bind(node.target, ("value", node.value) if isinstance(node.op, ast.Add) else ("other",))
            elif isinstance(node, ast.NamedExpr):
                bind(node.target, ("value", node.value))
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                self._bind_for(node, bind)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        bind(item.optional_vars, ("other",))
        return bindings

    def _bind_for(self, node: ast.For, bind) -> None:
        target, it = node.target, node.iter
        safe: list[bool]
        elts = target.elts if isinstance(target, ast.Tuple) else [target]
        if isinstance(it, (ast.Tuple, ast.List)) and all(_is_const_strs(e) for e in it.elts):
            safe = [True] * len(elts)  # a literal table of fixed strings
        elif (
            isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "enumerate"
            and isinstance(target, ast.Tuple) and len(elts) == 2 and it.args
        ):
            source = it.args[0].value if isinstance(it.args[0], ast.Subscript) else it.args[0]
            safe = [True, isinstance(source, ast.Name) and source.id in self.module_consts]
        else:
            safe = [False] * len(elts)
        for elt, ok in zip(elts, safe):
            if isinstance(elt, ast.Name):
                bind(elt, ("value", ast.Constant("")) if ok else ("other",))

    def _safe(self, node: ast.AST, bindings: dict, seen: frozenset = frozenset()) -> bool:
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str)
        if isinstance(node, ast.JoinedStr):
            return all(
                isinstance(v, ast.Constant)
                or (v.conversion == -1 and v.format_spec is None and self._safe_fragment(v.value, bindings, seen))
                for v in node.values
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self._safe(node.left, bindings, seen) and self._safe(node.right, bindings, seen)
        if isinstance(node, ast.Name):
            if node.id in seen:
                return True  # e.g. `sql += ...`: the other bindings are checked on their own
            kinds = bindings.get(node.id)
            if not kinds:
                return node.id in self.module_consts
            return all(k[0] == "value" and self._safe(k[1], bindings, seen | {node.id}) for k in kinds)
        return False

    def _safe_fragment(self, node: ast.AST, bindings: dict, seen: frozenset) -> bool:
        # ','.join('?' * len(x)): only question marks and commas
        if (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
            and isinstance(node.func.value, ast.Constant) and node.func.value.value.strip() in (",", "")
            and len(node.args) == 1 and isinstance(node.args[0], ast.BinOp) and isinstance(node.args[0].op, ast.Mult)
            and isinstance(node.args[0].left, ast.Constant) and node.args[0].left.value == "?"
        ):
            return True
        return self._safe(node, bindings, seen)

    def violations(self) -> list[str]:
        found = []
        scopes = [self.tree] + [n for n in ast.walk(self.tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for scope in scopes:
            name = getattr(scope, "name", "<module>")
            bindings = self._bindings(scope, {"column"} if name == "_scope_clause" else set())
            for node in _own_nodes(scope):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr in SQL_METHODS:
                    self.calls_checked += 1
                    if not node.args or not self._safe(node.args[0], bindings):
                        found.append(f"{self.filename}:{node.lineno} {name}: {ast.unparse(node.args[0]) if node.args else '?'}")
                elif isinstance(func, ast.Name) and func.id == "_scope_clause":
                    extra = node.args[1:] + [k.value for k in node.keywords]
                    if not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in extra):
                        found.append(f"{self.filename}:{node.lineno} {name}: _scope_clause with a non-literal column")
            if name == "_scope_clause":
                for ret in (n for n in _own_nodes(scope) if isinstance(n, ast.Return)):
                    value = ret.value
                    if not (isinstance(value, ast.Tuple) and self._safe(value.elts[0], bindings)):
                        found.append(f"{self.filename}:{ret.lineno} _scope_clause returns a clause built from input")
        return found


def test_sql_checker_flags_interpolated_sql():
    bad = {
        "f-string value": "async def f(db, title):\n    await db.execute(f\"SELECT 1 FROM t WHERE title = '{title}'\")",
        "percent": "def f(db, x):\n    db.execute('SELECT * FROM t WHERE id = %s' % x)",
        "format": "def f(db, x):\n    db.execute('SELECT * FROM t WHERE id = {}'.format(x))",
        "concatenated": "def f(db, name):\n    sql = 'SELECT * FROM t WHERE a = ' + name\n    db.execute(sql)",
        "augmented": "def f(db, name):\n    sql = 'SELECT 1'\n    sql += name\n    db.executemany(sql, [])",
        "repr": "def f(db, x):\n    db.execute(f'SELECT {x!r}')",
        "join of input": "def f(db, xs):\n    db.execute(f\"SELECT * FROM t WHERE id IN ({','.join(xs)})\")",
        "scope column": "def f(db, c):\n    clause, p = _scope_clause(None, c)\n    db.execute(f'SELECT 1 WHERE {clause}', p)",
    }
    for label, source in bad.items():
        assert SqlChecker(source, label).violations(), f"the checker missed: {label}"
    good = (
        "COLS = 'a, b'\n"
        "def f(db, ids, scopes):\n"
        "    clause, params = _scope_clause(scopes)\n"
        "    clause += ' AND x = ?'\n"
        "    sql = f\"SELECT {COLS} FROM t WHERE {clause} AND id IN ({','.join('?' * len(ids))})\"\n"
        "    for table, col in (('t1', 'c1'), ('t2', 'c2')):\n"
        "        db.execute(f'SELECT {col} FROM {table}')\n"
        "    db.execute(sql + ' LIMIT ?', [*params, *ids, 3])\n"
    )
    assert SqlChecker(good, "good").violations() == []


def test_all_sql_in_index_is_parameterised():
    checked, problems = 0, []
    for path in sorted((PROJECT_ROOT / "index").rglob("*.py")):
        checker = SqlChecker(path.read_text(encoding="utf-8"), str(path.relative_to(PROJECT_ROOT)))
        problems += checker.violations()
        checked += checker.calls_checked
    assert checked >= 15, f"only {checked} execute calls found: has the store moved?"
    assert problems == [], "SQL built from something other than placeholders and fixed text:\n" + "\n".join(problems)
