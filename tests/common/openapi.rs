//! Checks requests as they went on the wire against Stripe's OpenAPI
//! description (`spec3.json` from github.com/stripe/openapi).
//!
//! The spec is large and not part of this repository, so it is read at run
//! time from the file named by `STRIPE_OPENAPI_SPEC`; when that is unset,
//! [`Spec::from_env`] says so and the calling test skips.
//!
//! Parameters are decoded the way Stripe reads them:
//! `application/x-www-form-urlencoded` pairs with nested bracket keys
//! (`line_items[0][price_data][currency]=usd`, `metadata[k]=v`, `expand[]=x`)
//! become a tree, and the tree is checked against the operation's schema:
//! known names only, the right scalar type, enums, `maxLength`, arrays,
//! nested objects, `anyOf`/`oneOf` and `required`.

use std::path::Path;

use serde_json::Value;

/// Stripe's OpenAPI description, parsed.
pub struct Spec {
    root: Value,
}

/// Environment variable naming the spec file.
const ENV_VAR: &str = "STRIPE_OPENAPI_SPEC";

/// How many `$ref`s in a row are followed before giving up (guards cycles).
const MAX_REF_HOPS: usize = 32;

impl Spec {
    /// Loads the spec from `STRIPE_OPENAPI_SPEC`; returns `None` (after saying
    /// the test is skipped) when it is unset. Panics with a clear message when
    /// it is set but the file cannot be read or parsed.
    pub fn from_env() -> Option<Spec> {
        match std::env::var_os(ENV_VAR) {
            Some(p) if !p.is_empty() => Some(Spec::from_path(Path::new(&p))),
            _ => {
                eprintln!(
                    "skipped: {ENV_VAR} is not set (point it at stripe/openapi's \
                     openapi/spec3.json to check requests against Stripe's API description)"
                );
                None
            }
        }
    }

    /// Loads the spec from a file. Panics with a clear message on failure.
    pub fn from_path(path: &Path) -> Spec {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!(
                "{ENV_VAR}: cannot read the OpenAPI spec at {}: {e}",
                path.display()
            )
        });
        let root: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{ENV_VAR}: {} is not valid JSON: {e}", path.display()));
        assert!(
            root.get("paths").is_some_and(Value::is_object),
            "{ENV_VAR}: {} has no \"paths\" object; is it Stripe's OpenAPI spec (spec3.json)?",
            path.display()
        );
        Spec { root }
    }

    /// Checks one request as it went on the wire.
    ///
    /// `method` is `GET`, `POST` or `DELETE`; `path` the concrete path (e.g.
    /// `/v1/customers/cus_123`), matched against the spec's templated paths;
    /// `query` the raw query string (may be empty); `body` the raw
    /// `application/x-www-form-urlencoded` body (may be empty).
    ///
    /// Returns human-readable problems, each naming the full parameter path
    /// (e.g. `line_items[0][price_data][unit_amount]: expected integer, got
    /// "49.99"`); empty means the request matches the spec.
    pub fn check_request(&self, method: &str, path: &str, query: &str, body: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let method_lc = method.to_ascii_lowercase();
        let op = match self.find_operation(&method_lc, path) {
            Ok(op) => op,
            Err(e) => return vec![e],
        };

        let query_schema = self.query_schema(&method_lc, op);
        let body_schema = form_body_schema(op);

        // Query string: the operation's `in: query` parameters (and, for
        // DELETE, the spec's request-body parameters, which clients send in
        // the query string).
        if method_lc == "post" && !query.is_empty() {
            problems.push(format!(
                "{method} {path} has a query string ({query:?}); POST parameters go in the form body"
            ));
        } else if !query.is_empty() {
            let tree = parse_form(query, "query string", &mut problems);
            self.check(&query_schema, &tree, "", &mut problems);
        }
        // Body.
        let body_tree = if body.trim().is_empty() {
            None
        } else {
            Some(parse_form(body, "body", &mut problems))
        };
        match (method_lc.as_str(), body_tree) {
            ("get", Some(_)) => problems.push(format!(
                "{method} {path} has a request body; GET parameters go in the query string"
            )),
            (_, Some(tree)) => match body_schema {
                Some(schema) => self.check(schema, &tree, "", &mut problems),
                None => problems.push(format!(
                    "{method} {path} has a body but the spec gives it no \
                     application/x-www-form-urlencoded request body"
                )),
            },
            (_, None) => {}
        }
        // Required parameters must be present even when nothing was sent.
        if method_lc == "post" {
            if let Some(schema) = body_schema
                && body.trim().is_empty()
            {
                self.check(schema, &Node::Branch(Vec::new()), "", &mut problems);
            }
        } else if query.is_empty() {
            self.check(&query_schema, &Node::Branch(Vec::new()), "", &mut problems);
        }
        problems
    }

    /// The operation object for `method` on the spec path matching `path`.
    fn find_operation(&self, method_lc: &str, path: &str) -> Result<&Value, String> {
        let paths = self.root["paths"].as_object().expect("checked on load");
        let segs: Vec<&str> = path.split('/').collect();
        // Candidates that match, most literal segments first, so that
        // `/v1/customers/search` wins over `/v1/customers/{customer}`.
        let mut matching: Vec<(usize, &String, &Value)> = paths
            .iter()
            .filter_map(|(template, item)| {
                let t: Vec<&str> = template.split('/').collect();
                if t.len() != segs.len() {
                    return None;
                }
                let mut literal = 0;
                for (ts, s) in t.iter().zip(&segs) {
                    if ts.starts_with('{') && ts.ends_with('}') {
                        if s.is_empty() {
                            return None;
                        }
                    } else if ts == s {
                        literal += 1;
                    } else {
                        return None;
                    }
                }
                Some((literal, template, item))
            })
            .collect();
        if matching.is_empty() {
            return Err(format!(
                "{} {path}: no such path in the spec",
                method_lc.to_ascii_uppercase()
            ));
        }
        matching.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        for (_, _, item) in &matching {
            if let Some(op) = item.get(method_lc).filter(|op| op.is_object()) {
                return Ok(op);
            }
        }
        let templates: Vec<&str> = matching.iter().map(|(_, t, _)| t.as_str()).collect();
        Err(format!(
            "{} {path}: the spec has no {} operation on {}",
            method_lc.to_ascii_uppercase(),
            method_lc.to_ascii_uppercase(),
            templates.join(", ")
        ))
    }

    /// An object schema whose properties are the operation's query
    /// parameters (for DELETE, also its request-body properties).
    fn query_schema(&self, method_lc: &str, op: &Value) -> Value {
        let mut props = serde_json::Map::new();
        let mut required = Vec::new();
        if method_lc == "delete"
            && let Some(body) = form_body_schema(op).map(|s| self.resolve(s))
            && let Some(p) = body.get("properties").and_then(Value::as_object)
        {
            props.extend(p.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        for param in op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let param = self.resolve(param);
            if param.get("in").and_then(Value::as_str) != Some("query") {
                continue;
            }
            let Some(name) = param.get("name").and_then(Value::as_str) else {
                continue;
            };
            let schema = param
                .get("schema")
                .cloned()
                .unwrap_or(Value::Object(Default::default()));
            props.insert(name.to_owned(), schema);
            if param.get("required").and_then(Value::as_bool) == Some(true) {
                required.push(Value::String(name.to_owned()));
            }
        }
        serde_json::json!({
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": false,
        })
    }

    /// Follows `$ref`s (`#/components/...`) to the schema they name.
    fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..MAX_REF_HOPS {
            let Some(r) = schema.get("$ref").and_then(Value::as_str) else {
                return schema;
            };
            let pointer = r.strip_prefix('#').unwrap_or(r);
            match self.root.pointer(pointer) {
                Some(target) => schema = target,
                None => panic!("the spec has a $ref to {r}, which it does not define"),
            }
        }
        panic!("more than {MAX_REF_HOPS} $refs in a row (a cycle?) at {schema}");
    }

    /// Checks `node` (at parameter path `path`, "" for the top) against
    /// `schema`, appending problems to `out`.
    fn check(&self, schema: &Value, node: &Node, path: &str, out: &mut Vec<String>) {
        let schema = self.resolve(schema);

        let alternatives = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array);
        if let Some(alternatives) = alternatives {
            self.check_alternatives(alternatives, node, path, out);
            // A schema may put constraints beside anyOf; fall through only
            // when it has a type of its own.
            if schema.get("type").is_none() {
                return;
            }
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                self.check(s, node, path, out);
            }
        }

        let ty = schema.get("type").and_then(Value::as_str).or_else(|| {
            (schema.get("properties").is_some() || schema.get("additionalProperties").is_some())
                .then_some("object")
        });
        let shown = shown_path(path);
        match (ty, node) {
            (None, _) => {
                // No type: anything goes, but an enum still applies.
                if let Node::Leaf(v) = node {
                    check_enum(schema, v, &shown, out);
                }
            }
            (Some("object"), Node::Branch(children)) => {
                self.check_object(schema, children, path, out);
            }
            (Some("array"), Node::Branch(children)) => {
                self.check_array(schema, children, path, out);
            }
            (Some("object"), Node::Leaf(v)) => out.push(format!(
                "{shown}: expected an object (nested parameters like {}[key]=...), got {v:?}",
                name_for_example(path)
            )),
            (Some("array"), Node::Leaf(v)) => out.push(format!(
                "{shown}: expected an array (encoded as {0}[0]=... or {0}[]=...), got {v:?}",
                name_for_example(path)
            )),
            (Some(scalar), Node::Branch(children)) => out.push(format!(
                "{shown}: expected {}, got nested parameters [{}]",
                describe_scalar(schema, scalar),
                children
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            (Some(scalar), Node::Leaf(v)) => check_scalar(schema, scalar, v, &shown, out),
        }
    }

    /// `anyOf` / `oneOf`: accepted when any alternative accepts.
    ///
    /// When none does, the alternatives the value fits by shape, type and
    /// enum (failing only on deeper parameters or on constraints such as
    /// `maxLength`) are taken as the one meant and their problems reported;
    /// otherwise one line lists what would have been accepted.
    fn check_alternatives(
        &self,
        alternatives: &[Value],
        node: &Node,
        path: &str,
        out: &mut Vec<String>,
    ) {
        let mut fitting: Vec<Vec<String>> = Vec::new();
        for alt in alternatives {
            let mut errs = Vec::new();
            self.check(alt, node, path, &mut errs);
            if errs.is_empty() {
                return;
            }
            if self.fits(alt, node) {
                fitting.push(errs);
            }
        }
        match fitting.into_iter().min_by_key(Vec::len) {
            Some(errs) => out.extend(errs),
            None => {
                let described: Vec<String> =
                    alternatives.iter().map(|a| self.describe(a)).collect();
                out.push(format!(
                    "{}: expected {}, got {}",
                    shown_path(path),
                    described.join(" or "),
                    describe_node(node)
                ));
            }
        }
    }

    /// Whether `node` has the shape, type and (for single values) enum value
    /// `schema` takes, ignoring nested parameters and other constraints.
    fn fits(&self, schema: &Value, node: &Node) -> bool {
        let schema = self.resolve(schema);
        if let Some(alts) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)
        {
            return alts.iter().any(|a| self.fits(a, node));
        }
        let ty = schema.get("type").and_then(Value::as_str);
        match node {
            Node::Branch(_) => matches!(ty, Some("object" | "array") | None),
            Node::Leaf(v) => {
                let typed = match ty {
                    Some("integer") => v.parse::<i64>().is_ok(),
                    Some("number") => is_decimal(v),
                    Some("boolean") => v == "true" || v == "false",
                    Some("string") | None => true,
                    Some(_) => false,
                };
                let in_enum = schema
                    .get("enum")
                    .and_then(Value::as_array)
                    .is_none_or(|e| e.iter().any(|a| enum_text(a) == *v));
                typed && in_enum
            }
        }
    }

    fn check_object(
        &self,
        schema: &Value,
        children: &[(String, Node)],
        path: &str,
        out: &mut Vec<String>,
    ) {
        let props = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        for (key, child) in children {
            let child_path = join(path, key);
            if let Some(s) = props.and_then(|p| p.get(key)) {
                self.check(s, child, &child_path, out);
                continue;
            }
            match additional {
                Some(Value::Bool(true)) => {}
                Some(s @ Value::Object(_)) => self.check(s, child, &child_path, out),
                // Neither properties nor additionalProperties: free-form.
                None if props.is_none() => {}
                _ => out.push(format!(
                    "{child_path}: unknown parameter{}",
                    self.known_names(props)
                )),
            }
        }
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !children.iter().any(|(k, _)| k == req) {
                out.push(format!(
                    "{}: required parameter is missing",
                    join(path, req)
                ));
            }
        }
    }

    fn check_array(
        &self,
        schema: &Value,
        children: &[(String, Node)],
        path: &str,
        out: &mut Vec<String>,
    ) {
        let items = schema.get("items");
        let mut indices = Vec::new();
        for (key, child) in children {
            let child_path = join(path, key);
            let index = key.parse::<usize>().ok().filter(|i| i.to_string() == *key);
            match index {
                Some(i) => indices.push(i),
                None => {
                    out.push(format!(
                        "{child_path}: expected an array index (0, 1, ...) after {}",
                        shown_path(path)
                    ));
                    continue;
                }
            }
            if let Some(items) = items {
                self.check(items, child, &child_path, out);
            }
        }
        indices.sort_unstable();
        if indices.iter().enumerate().any(|(n, i)| n != *i) {
            out.push(format!(
                "{}: array indices must run 0, 1, 2, ... without gaps, got {indices:?}",
                shown_path(path)
            ));
        }
    }

    /// " (known: a, b, c)" for unknown-parameter messages, if short enough.
    fn known_names(&self, props: Option<&serde_json::Map<String, Value>>) -> String {
        match props {
            Some(p) if p.is_empty() => " (this operation takes no parameters here)".into(),
            Some(p) if p.len() <= 40 => {
                format!(
                    " (known: {})",
                    p.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
                )
            }
            _ => String::new(),
        }
    }

    /// A short description of what a schema accepts, for messages.
    fn describe(&self, schema: &Value) -> String {
        let schema = self.resolve(schema);
        if let Some(alts) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)
        {
            return alts
                .iter()
                .map(|a| self.describe(a))
                .collect::<Vec<_>>()
                .join(" or ");
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("object") => "an object".into(),
            Some("array") => "an array".into(),
            Some(scalar) => describe_scalar(schema, scalar),
            None => "anything".into(),
        }
    }
}

/// The `application/x-www-form-urlencoded` request-body schema, if any.
fn form_body_schema(op: &Value) -> Option<&Value> {
    op.get("requestBody")?
        .get("content")?
        .get("application/x-www-form-urlencoded")?
        .get("schema")
}

/// Checks a single value against a scalar type and its constraints.
fn check_scalar(schema: &Value, ty: &str, v: &str, shown: &str, out: &mut Vec<String>) {
    let ok = match ty {
        "integer" => v.parse::<i64>().is_ok(),
        "number" => is_decimal(v),
        "boolean" => v == "true" || v == "false",
        "string" => true,
        other => {
            out.push(format!(
                "{shown}: the spec has an unsupported type {other:?}"
            ));
            return;
        }
    };
    if !ok {
        out.push(format!("{shown}: expected {ty}, got {v:?}"));
        return;
    }
    if !check_enum(schema, v, shown, out) {
        return;
    }
    if ty == "string" {
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && v.chars().count() as u64 > max
        {
            out.push(format!(
                "{shown}: {} characters, longer than maxLength {max}",
                v.chars().count()
            ));
        }
        if schema.get("format").and_then(Value::as_str) == Some("decimal") && !is_decimal(v) {
            out.push(format!("{shown}: expected a decimal string, got {v:?}"));
        }
    }
}

/// Checks `v` against the schema's `enum`, if any; false when it failed.
fn check_enum(schema: &Value, v: &str, shown: &str, out: &mut Vec<String>) -> bool {
    let Some(values) = schema.get("enum").and_then(Value::as_array) else {
        return true;
    };
    let allowed: Vec<String> = values.iter().map(enum_text).collect();
    if allowed.iter().any(|a| a == v) {
        return true;
    }
    out.push(format!(
        "{shown}: {v:?} is not one of {}",
        allowed
            .iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    false
}

/// An enum value as it would appear in a form.
fn enum_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `integer`, `string`, `one of "a", "b"`, `"" (empty string)`...
fn describe_scalar(schema: &Value, ty: &str) -> String {
    match schema.get("enum").and_then(Value::as_array) {
        Some(values) if values.len() == 1 && values[0] == "" => "\"\" (empty string)".into(),
        Some(values) => format!(
            "one of {}",
            values
                .iter()
                .map(|v| format!("{:?}", enum_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => ty.into(),
    }
}

/// A plain decimal number: optional sign, digits, optional fraction.
fn is_decimal(v: &str) -> bool {
    let digits = v.strip_prefix('-').unwrap_or(v);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    (!int.is_empty() || !frac.is_empty())
        && all_digits(int)
        && all_digits(frac)
        && !(digits.contains('.') && frac.is_empty())
}

fn describe_node(node: &Node) -> String {
    match node {
        Node::Leaf(v) => format!("{v:?}"),
        Node::Branch(children) => format!(
            "nested parameters [{}]",
            children
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `a` + `b` = `a[b]`; the top level has no name of its own.
fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}[{key}]")
    }
}

fn shown_path(path: &str) -> String {
    if path.is_empty() {
        "(top level)".into()
    } else {
        path.to_owned()
    }
}

fn name_for_example(path: &str) -> &str {
    if path.is_empty() { "name" } else { path }
}

/// A decoded parameter: a single value, or nested keys in the order sent.
#[derive(Debug)]
enum Node {
    Leaf(String),
    Branch(Vec<(String, Node)>),
}

/// Parses `a=1&b[c]=2&d[]=x` into a tree, reporting malformed input.
fn parse_form(raw: &str, what: &str, problems: &mut Vec<String>) -> Node {
    let mut root = Node::Branch(Vec::new());
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(key), Some(value)) = (
            percent_decode(k, what, problems),
            percent_decode(v, what, problems),
        ) else {
            continue;
        };
        let Some(segments) = split_key(&key) else {
            problems.push(format!("{key}: malformed parameter name in the {what}"));
            continue;
        };
        if let Err(e) = insert(&mut root, &segments, value) {
            problems.push(format!("{e} (in the {what})"));
        }
    }
    root
}

/// `a[b][][c]` → `["a", "b", "", "c"]`; None when the brackets are malformed.
fn split_key(key: &str) -> Option<Vec<&str>> {
    let (base, mut rest) = match key.find('[') {
        Some(i) => key.split_at(i),
        None => (key, ""),
    };
    if base.is_empty() || base.contains(']') {
        return None;
    }
    let mut segments = vec![base];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        let seg = &inner[..close];
        if seg.contains('[') {
            return None;
        }
        segments.push(seg);
        rest = &inner[close + 1..];
    }
    Some(segments)
}

/// Inserts `value` at `segments`; an empty segment (`[]`) appends to an array.
fn insert(root: &mut Node, segments: &[&str], value: String) -> Result<(), String> {
    let mut node = root;
    let mut path = String::new();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let Node::Branch(children) = node else {
            return Err(format!(
                "{path}: given both as a single value and with nested keys"
            ));
        };
        let key = if seg.is_empty() && i > 0 {
            children.len().to_string()
        } else {
            (*seg).to_owned()
        };
        path = join(&path, &key);
        let pos = children.iter().position(|(k, _)| *k == key);
        if last {
            return match pos {
                Some(_) => Err(format!("{path}: given more than once")),
                None => {
                    children.push((key, Node::Leaf(value)));
                    Ok(())
                }
            };
        }
        let pos = match pos {
            Some(p) => p,
            None => {
                children.push((key, Node::Branch(Vec::new())));
                children.len() - 1
            }
        };
        node = &mut children[pos].1;
    }
    Ok(())
}

/// Decodes `%XX` and `+`; None (after reporting) when malformed.
fn percent_decode(s: &str, what: &str, problems: &mut Vec<String>) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => {
                        problems.push(format!("{s:?}: malformed percent-encoding in the {what}"));
                        return None;
                    }
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Some(s),
        Err(_) => {
            problems.push(format!(
                "{s:?}: not UTF-8 once percent-decoded, in the {what}"
            ));
            None
        }
    }
}
