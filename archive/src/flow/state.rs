//! Typed reads from a parsed flow state, each failure naming the field's
//! path (`request.headers[3]`), so a bad file says where it is bad.
use super::tnetstring::Value;
use super::FlowError;

/// A dict inside a flow state and the path that led to it.
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    value: &'a Value,
    path: &'a str,
}

impl<'a> Obj<'a> {
    /// The whole state (its path is empty).
    pub fn root(value: &'a Value) -> Result<Obj<'a>, FlowError> {
        Obj::at(value, "flow")
    }

    fn at(value: &'a Value, path: &'a str) -> Result<Obj<'a>, FlowError> {
        match value {
            Value::Dict(_) => Ok(Obj { value, path }),
            _ => Err(bad(path, "expected a dict")),
        }
    }

    fn field(&self, key: &str) -> Result<&'a Value, FlowError> {
        self.value
            .get(key)
            .ok_or_else(|| bad(&self.join(key), "missing"))
    }

    fn join(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    /// A nested dict; `path` names it in errors.
    pub fn obj(&self, key: &str, path: &'a str) -> Result<Obj<'a>, FlowError> {
        Obj::at(self.field(key)?, path)
    }

    /// A nested dict, or `None` for null or absent.
    pub fn opt_obj(&self, key: &str, path: &'a str) -> Result<Option<Obj<'a>>, FlowError> {
        match self.value.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => Obj::at(v, path).map(Some),
        }
    }

    pub fn text(&self, key: &str) -> Result<String, FlowError> {
        let v = self.field(key)?;
        v.as_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .ok_or_else(|| bad(&self.join(key), "expected a string"))
    }

    pub fn opt_text(&self, key: &str) -> Result<Option<String>, FlowError> {
        match self.value.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.text(key).map(Some),
        }
    }

    /// Bytes, or `None` for null (mitmproxy's "content missing").
    pub fn opt_bytes(&self, key: &str) -> Result<Option<&'a [u8]>, FlowError> {
        match self.field(key)? {
            Value::Null => Ok(None),
            v => v
                .as_bytes()
                .map(Some)
                .ok_or_else(|| bad(&self.join(key), "expected bytes")),
        }
    }

    pub fn int(&self, key: &str) -> Result<i64, FlowError> {
        self.field(key)?
            .as_i64()
            .ok_or_else(|| bad(&self.join(key), "expected an integer"))
    }

    /// A finite number: timestamps become JSON, which has no NaN or inf.
    pub fn float(&self, key: &str) -> Result<f64, FlowError> {
        self.field(key)?
            .as_f64()
            .filter(|f| f.is_finite())
            .ok_or_else(|| bad(&self.join(key), "expected a finite number"))
    }

    pub fn opt_float(&self, key: &str) -> Result<Option<f64>, FlowError> {
        match self.value.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.float(key).map(Some),
        }
    }

    pub fn list(&self, key: &str) -> Result<&'a [Value], FlowError> {
        self.field(key)?
            .as_list()
            .ok_or_else(|| bad(&self.join(key), "expected a list"))
    }

    /// A `[host, port]` address, or `None`.
    pub fn opt_address(&self, key: &str) -> Result<Option<(String, i64)>, FlowError> {
        let list = match self.value.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(v) => v.as_list(),
        };
        match list {
            Some([host, port, ..]) => match (host.as_bytes(), port.as_i64()) {
                (Some(h), Some(p)) => Ok(Some((String::from_utf8_lossy(h).into_owned(), p))),
                _ => Err(bad(&self.join(key), "expected [host, port]")),
            },
            _ => Err(bad(&self.join(key), "expected [host, port]")),
        }
    }

    /// A header list: `[[name, value], …]`, in order.
    pub fn headers(&self, key: &str) -> Result<Vec<(String, String)>, FlowError> {
        let path = self.join(key);
        let list = self
            .field(key)?
            .as_list()
            .ok_or_else(|| bad(&path, "expected a list of [name, value]"))?;
        list.iter()
            .enumerate()
            .map(|(i, pair)| match pair.as_list() {
                Some([name, value]) => match (name.as_bytes(), value.as_bytes()) {
                    (Some(n), Some(v)) => Ok((
                        String::from_utf8_lossy(n).into_owned(),
                        String::from_utf8_lossy(v).into_owned(),
                    )),
                    _ => Err(bad(&format!("{path}[{i}]"), "expected [name, value] bytes")),
                },
                _ => Err(bad(&format!("{path}[{i}]"), "expected [name, value]")),
            })
            .collect()
    }
}

fn bad(path: &str, why: &str) -> FlowError {
    FlowError::Field {
        path: path.to_owned(),
        why: why.to_owned(),
    }
}
