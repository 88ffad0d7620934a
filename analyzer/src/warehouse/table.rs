//! A table's columns, buffered row by row and written to Parquet as one
//! row group at a time through the parquet crate's column writers.
//!
//! Only standard types, so that DuckDB, Spark, ClickHouse, Trino and
//! pyarrow read the files as they are: BOOLEAN, INT32, INT64, DOUBLE,
//! BYTE_ARRAY annotated STRING, INT64 annotated TIMESTAMP(MICROS, UTC), and
//! the three-level LIST of strings that Spark writes. No Arrow layer: the
//! columns go straight from these buffers to the column writers.

use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::writer::SerializedRowGroupWriter;
use std::io::Write;

/// A column's type as readers see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    I32,
    I64,
    F64,
    Str,
    /// Microseconds since the Unix epoch, UTC.
    Timestamp,
    /// A list of strings.
    StrList,
}

impl Kind {
    /// The type's name in the documentation (DuckDB's spelling).
    pub fn sql(self) -> &'static str {
        match self {
            Kind::Bool => "BOOLEAN",
            Kind::I32 => "INTEGER",
            Kind::I64 => "BIGINT",
            Kind::F64 => "DOUBLE",
            Kind::Str => "VARCHAR",
            Kind::Timestamp => "TIMESTAMP WITH TIME ZONE",
            Kind::StrList => "VARCHAR[]",
        }
    }
}

/// One column of a table: name, type, whether it may be null, what it holds.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    pub doc: &'static str,
}

/// A column, for the tables' `COLUMNS` lists.
pub const fn col(name: &'static str, kind: Kind, nullable: bool, doc: &'static str) -> Column {
    Column {
        name,
        kind,
        nullable,
        doc,
    }
}

/// The Parquet message type of a table, in the parquet crate's schema text.
pub fn message_type(table: &str, columns: &[Column]) -> String {
    let mut s = format!("message {table} {{\n");
    for c in columns {
        let rep = if c.nullable { "OPTIONAL" } else { "REQUIRED" };
        let name = c.name;
        let line = match c.kind {
            Kind::Bool => format!("{rep} BOOLEAN {name};"),
            Kind::I32 => format!("{rep} INT32 {name};"),
            Kind::I64 => format!("{rep} INT64 {name};"),
            Kind::F64 => format!("{rep} DOUBLE {name};"),
            Kind::Str => format!("{rep} BYTE_ARRAY {name} (STRING);"),
            Kind::Timestamp => format!("{rep} INT64 {name} (TIMESTAMP(MICROS,true));"),
            Kind::StrList => format!(
                "{rep} group {name} (LIST) {{ REPEATED group list {{ OPTIONAL BYTE_ARRAY element (STRING); }} }}"
            ),
        };
        s.push_str("  ");
        s.push_str(&line);
        s.push('\n');
    }
    s.push('}');
    s
}

/// One value of a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    I32(i32),
    I64(i64),
    F64(f64),
    Str(String),
    StrList(Vec<String>),
}

impl Cell {
    /// `Some(s)` as a string, `None` as null.
    pub fn opt_str(s: Option<impl Into<String>>) -> Cell {
        s.map_or(Cell::Null, |s| Cell::Str(s.into()))
    }

    pub fn opt_i64(n: Option<i64>) -> Cell {
        n.map_or(Cell::Null, Cell::I64)
    }

    pub fn opt_f64(n: Option<f64>) -> Cell {
        n.map_or(Cell::Null, Cell::F64)
    }
}

#[derive(Debug)]
enum Values {
    Bool(Vec<bool>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F64(Vec<f64>),
    Bytes(Vec<ByteArray>),
}

/// One column's buffered values with their definition and repetition
/// levels (empty where the column has none).
#[derive(Debug)]
struct Buffer {
    values: Values,
    defs: Vec<i16>,
    reps: Vec<i16>,
}

/// Rows waiting to be written as the next row group.
#[derive(Debug)]
pub struct Rows {
    columns: &'static [Column],
    buffers: Vec<Buffer>,
    len: usize,
    bytes: usize,
}

impl Rows {
    pub fn new(columns: &'static [Column]) -> Rows {
        let buffers = columns
            .iter()
            .map(|c| Buffer {
                values: match c.kind {
                    Kind::Bool => Values::Bool(Vec::new()),
                    Kind::I32 => Values::I32(Vec::new()),
                    Kind::I64 | Kind::Timestamp => Values::I64(Vec::new()),
                    Kind::F64 => Values::F64(Vec::new()),
                    Kind::Str | Kind::StrList => Values::Bytes(Vec::new()),
                },
                defs: Vec::new(),
                reps: Vec::new(),
            })
            .collect();
        Rows {
            columns,
            buffers,
            len: 0,
            bytes: 0,
        }
    }

    /// Rows buffered.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Roughly the memory the buffered rows hold.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Adds a row: one cell per column, in the columns' order.
    ///
    /// Panics when a cell does not fit its column (a bug in the row
    /// builder, caught by its tests).
    pub fn push(&mut self, row: Vec<Cell>) {
        assert_eq!(row.len(), self.columns.len(), "row width");
        for ((column, buffer), cell) in self.columns.iter().zip(&mut self.buffers).zip(row) {
            self.bytes += push_cell(column, buffer, cell);
        }
        self.len += 1;
    }

    /// Writes the buffered rows as one row group and empties the buffers.
    pub fn write<W: Write + Send>(
        &mut self,
        group: &mut SerializedRowGroupWriter<'_, W>,
    ) -> Result<(), ParquetError> {
        for buffer in &mut self.buffers {
            let mut column = group
                .next_column()?
                .ok_or_else(|| ParquetError::General("fewer columns than buffers".into()))?;
            let defs = (!buffer.defs.is_empty()).then_some(buffer.defs.as_slice());
            let reps = (!buffer.reps.is_empty()).then_some(buffer.reps.as_slice());
            match &buffer.values {
                Values::Bool(v) => column.typed::<BoolType>().write_batch(v, defs, reps)?,
                Values::I32(v) => column.typed::<Int32Type>().write_batch(v, defs, reps)?,
                Values::I64(v) => column.typed::<Int64Type>().write_batch(v, defs, reps)?,
                Values::F64(v) => column.typed::<DoubleType>().write_batch(v, defs, reps)?,
                Values::Bytes(v) => column.typed::<ByteArrayType>().write_batch(v, defs, reps)?,
            };
            column.close()?;
            buffer.defs.clear();
            buffer.reps.clear();
            match &mut buffer.values {
                Values::Bool(v) => v.clear(),
                Values::I32(v) => v.clear(),
                Values::I64(v) => v.clear(),
                Values::F64(v) => v.clear(),
                Values::Bytes(v) => v.clear(),
            }
        }
        self.len = 0;
        self.bytes = 0;
        Ok(())
    }
}

/// Appends one cell; returns about how many bytes it takes.
fn push_cell(column: &Column, b: &mut Buffer, cell: Cell) -> usize {
    let misfit = || -> ! {
        panic!(
            "column {} ({:?}) got a mismatched cell",
            column.name, column.kind
        )
    };
    if column.kind == Kind::StrList {
        // Three levels: null list (def 0), empty list (def 1), element (def 3).
        let Values::Bytes(v) = &mut b.values else {
            unreachable!()
        };
        let items = match cell {
            Cell::Null if column.nullable => {
                b.defs.push(0);
                b.reps.push(0);
                return 4;
            }
            Cell::StrList(items) => items,
            _ => misfit(),
        };
        if items.is_empty() {
            b.defs.push(1);
            b.reps.push(0);
            return 4;
        }
        let mut size = 0;
        for (i, item) in items.into_iter().enumerate() {
            b.defs.push(3);
            b.reps.push(i16::from(i > 0));
            size += item.len() + 8;
            v.push(ByteArray::from(item.into_bytes()));
        }
        return size;
    }
    if column.nullable {
        b.defs.push(i16::from(cell != Cell::Null));
    }
    match (&mut b.values, cell) {
        (_, Cell::Null) if column.nullable => 2,
        (Values::Bool(v), Cell::Bool(x)) => {
            v.push(x);
            3
        }
        (Values::I32(v), Cell::I32(x)) => {
            v.push(x);
            6
        }
        (Values::I64(v), Cell::I64(x)) => {
            v.push(x);
            10
        }
        (Values::F64(v), Cell::F64(x)) => {
            v.push(x);
            10
        }
        (Values::Bytes(v), Cell::Str(s)) => {
            let size = s.len() + 26;
            v.push(ByteArray::from(s.into_bytes()));
            size
        }
        _ => misfit(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_text_parses_with_the_standard_annotations() {
        const COLUMNS: &[Column] = &[
            Column {
                name: "a",
                kind: Kind::Str,
                nullable: false,
                doc: "",
            },
            Column {
                name: "t",
                kind: Kind::Timestamp,
                nullable: true,
                doc: "",
            },
            Column {
                name: "l",
                kind: Kind::StrList,
                nullable: true,
                doc: "",
            },
        ];
        let text = message_type("x", COLUMNS);
        let schema = parquet::schema::parser::parse_message_type(&text).unwrap();
        let descr = parquet::schema::types::SchemaDescriptor::new(std::sync::Arc::new(schema));
        assert_eq!(descr.num_columns(), 3);
        assert_eq!(descr.column(1).max_def_level(), 1);
        let list = descr.column(2);
        assert_eq!((list.max_def_level(), list.max_rep_level()), (3, 1));
        assert_eq!(list.path().string(), "l.list.element");
    }

    #[test]
    #[should_panic(expected = "column a (I64) got a mismatched cell")]
    fn a_cell_of_the_wrong_kind_is_a_bug() {
        const COLUMNS: &[Column] = &[Column {
            name: "a",
            kind: Kind::I64,
            nullable: false,
            doc: "",
        }];
        Rows::new(COLUMNS).push(vec![Cell::Str("x".into())]);
    }
}
