//! A compact JSON serializer whose strings go through [`super::escape`].
//!
//! It writes the bytes `serde_json::to_writer` writes, for any
//! `Serialize` value: punctuation, numbers, `null` and booleans come from
//! serde_json's own [`CompactFormatter`], so only string escaping is ours.
//! serde_json offers no hook to replace its escaping loop (a `Formatter`
//! only sees the fragments that loop cuts), hence a whole `Serializer`.
//! The output goes to a `Vec` that the writer keeps from entry to entry.

use super::escape::write_str;
use serde::ser::{self, Error as _, Serialize};
use serde_json::ser::{CompactFormatter, Formatter};
use serde_json::Error;
use std::io;

/// Appends `value` as compact JSON, byte for byte what
/// `serde_json::to_writer` writes, with faster string escaping.
pub fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut Json { out })
}

/// The serializer: the output buffer.
struct Json<'o> {
    out: &'o mut Vec<u8>,
}

/// Formatter calls on a `Vec` cannot fail, but their type says they can.
fn io(r: io::Result<()>) -> Result<(), Error> {
    r.map_err(Error::io)
}

/// Hands `$each` the booleans and integers, each as (serializer method,
/// formatter method, type): one list for values and for map keys.
macro_rules! integers {
    ($each:ident) => {
        $each! {
            serialize_bool write_bool bool;
            serialize_i8 write_i8 i8;
            serialize_i16 write_i16 i16;
            serialize_i32 write_i32 i32;
            serialize_i64 write_i64 i64;
            serialize_i128 write_i128 i128;
            serialize_u8 write_u8 u8;
            serialize_u16 write_u16 u16;
            serialize_u32 write_u32 u32;
            serialize_u64 write_u64 u64;
            serialize_u128 write_u128 u128;
        }
    };
}

macro_rules! numbers {
    ($($method:ident $write:ident $t:ty;)*) => {$(
        fn $method(self, v: $t) -> Result<(), Error> {
            io(CompactFormatter.$write(self.out, v))
        }
    )*};
}

impl<'a, 'o> ser::Serializer for &'a mut Json<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'o>;
    type SerializeTuple = Compound<'a, 'o>;
    type SerializeTupleStruct = Compound<'a, 'o>;
    type SerializeTupleVariant = Compound<'a, 'o>;
    type SerializeMap = Compound<'a, 'o>;
    type SerializeStruct = Compound<'a, 'o>;
    type SerializeStructVariant = Compound<'a, 'o>;

    integers!(numbers);

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        match v.is_finite() {
            true => io(CompactFormatter.write_f32(self.out, v)),
            false => self.serialize_unit(),
        }
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        match v.is_finite() {
            true => io(CompactFormatter.write_f64(self.out, v)),
            false => self.serialize_unit(),
        }
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v);
        Ok(())
    }

    /// An array of numbers, as serde_json writes bytes.
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        io(CompactFormatter.write_byte_array(self.out, v))
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        io(CompactFormatter.write_null(self.out))
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }

    /// `{"variant":value}`
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
        v.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a, 'o>, Error> {
        Ok(Compound::open(self, b'[', b']'))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'o>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        self.serialize_seq(Some(len))
    }

    /// `{"variant":[…]}`
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        Ok(Compound::in_variant(self, variant, b'[', b']'))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a, 'o>, Error> {
        Ok(Compound::open(self, b'{', b'}'))
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a, 'o>, Error> {
        Ok(Compound::open(self, b'{', b'}'))
    }

    /// `{"variant":{…}}`
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        Ok(Compound::in_variant(self, variant, b'{', b'}'))
    }
}

/// An array or object being written: commas between members, the closing
/// bracket (and the variant's `}`) at the end.
struct Compound<'a, 'o> {
    ser: &'a mut Json<'o>,
    first: bool,
    close: u8,
    in_variant: bool,
}

impl<'a, 'o> Compound<'a, 'o> {
    fn open(ser: &'a mut Json<'o>, open: u8, close: u8) -> Self {
        ser.out.push(open);
        Compound {
            ser,
            first: true,
            close,
            in_variant: false,
        }
    }

    /// `{"variant":` then the array or object.
    fn in_variant(ser: &'a mut Json<'o>, variant: &str, open: u8, close: u8) -> Self {
        ser.out.push(b'{');
        write_str(ser.out, variant);
        ser.out.push(b':');
        Compound {
            in_variant: true,
            ..Compound::open(ser, open, close)
        }
    }

    fn comma(&mut self) {
        if !self.first {
            self.ser.out.push(b',');
        }
        self.first = false;
    }

    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.comma();
        v.serialize(&mut *self.ser)
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, v: &T) -> Result<(), Error> {
        self.comma();
        write_str(self.ser.out, key);
        self.ser.out.push(b':');
        v.serialize(&mut *self.ser)
    }

    fn close(self) -> Result<(), Error> {
        self.ser.out.push(self.close);
        if self.in_variant {
            self.ser.out.push(b'}');
        }
        Ok(())
    }
}

macro_rules! sequences {
    ($($trait:ident $method:ident;)*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
                self.element(v)
            }
            fn end(self) -> Result<(), Error> {
                self.close()
            }
        }
    )*};
}

sequences! {
    SerializeSeq serialize_element;
    SerializeTuple serialize_element;
    SerializeTupleStruct serialize_field;
    SerializeTupleVariant serialize_field;
}

macro_rules! structs {
    ($($trait:ident;)*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                v: &T,
            ) -> Result<(), Error> {
                self.field(key, v)
            }
            fn end(self) -> Result<(), Error> {
                self.close()
            }
        }
    )*};
}

structs! {
    SerializeStruct;
    SerializeStructVariant;
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        key.serialize(MapKey(self.ser))?;
        self.ser.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        v.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

/// An object key: a string, or (as serde_json allows) a number or boolean
/// written in quotes; anything else is an error, with serde_json's message.
struct MapKey<'a, 'o>(&'a mut Json<'o>);

fn key_must_be_a_string() -> Error {
    Error::custom("key must be a string")
}

fn float_key_must_be_finite() -> Error {
    Error::custom("float key must be finite (got NaN or +/-inf)")
}

impl MapKey<'_, '_> {
    /// Numbers and booleans as keys: the value's text in quotes.
    fn quoted(self, write: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> Result<(), Error> {
        self.0.out.push(b'"');
        io(write(self.0.out))?;
        self.0.out.push(b'"');
        Ok(())
    }
}

macro_rules! quoted_keys {
    ($($method:ident $write:ident $t:ty;)*) => {$(
        fn $method(self, v: $t) -> Result<(), Error> {
            self.quoted(|out| CompactFormatter.$write(out, v))
        }
    )*};
}

macro_rules! not_keys {
    ($($method:ident $(<$g:ident>)? ($($arg:ty),*) -> $ret:ty;)*) => {$(
        fn $method$(<$g: Serialize + ?Sized>)?(self, $(_: $arg),*) -> Result<$ret, Error> {
            Err(key_must_be_a_string())
        }
    )*};
}

impl ser::Serializer for MapKey<'_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    integers!(quoted_keys);

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        match v.is_finite() {
            true => self.quoted(|out| CompactFormatter.write_f32(out, v)),
            false => Err(float_key_must_be_finite()),
        }
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        match v.is_finite() {
            true => self.quoted(|out| CompactFormatter.write_f64(out, v)),
            false => Err(float_key_must_be_finite()),
        }
    }

    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.0.out, v);
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }

    not_keys! {
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_newtype_variant<T>(&'static str, u32, &'static str, &T) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }
}
