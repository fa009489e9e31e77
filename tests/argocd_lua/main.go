// argocd_lua runs an Argo CD resource health check (the Lua of a
// `resource.customizations.health.<group>_<kind>` key) on Kubernetes objects the way Argo CD
// does, with no Argo CD here: gopher-lua (the interpreter Argo CD embeds) and Argo CD's rules
// (argo-cd util/lua and gitops-engine pkg/health):
//
//   - an object with metadata.deletionTimestamp is "Progressing" / "Pending deletion" before any
//     health check runs (gitops-engine's GetResourceHealth);
//   - a new Lua state without the standard libraries, then only package, base, table and the
//     safe os subset (os.time, os.date; `require("os")` gives the same) are opened: no string,
//     math, io or debug library (Argo CD's default, useOpenLibs false);
//   - the object is the global `obj`, converted as Argo CD converts unstructured content: JSON
//     integers become Go int64 and other numbers float64 (both Lua numbers), strings, booleans,
//     arrays (1-based sequences), objects (string-keyed tables), null as nil;
//   - the script's return value: a table is encoded to JSON (gopher-json's rules: a table whose
//     first key is a number is an array, an empty table is `[]`, functions and other values
//     cannot be encoded) and decoded into {status, message}; a status outside Healthy,
//     Progressing, Degraded, Suspended, Missing, Unknown becomes Unknown with Argo CD's
//     "Lua returned an invalid health status"; nil means no health; anything else, and any Lua
//     error, is an error (Argo CD shows Unknown with the error message);
//   - a script that runs longer than Argo CD's default timeout (1 s) is an error.
//
// Input (stdin): JSON {"script": "<lua>", "objects": [<object>, ...]}.
// Output (stdout): JSON [{"status": "...", "message": "...", "error": "..."}, ...], one per object.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"
)

type input struct {
	Script  string            `json:"script"`
	Objects []json.RawMessage `json:"objects"`
}

type result struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

var validStatus = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true,
	"Suspended": true, "Missing": true, "Unknown": true,
}

// safeOsFuncs are os.time and os.date, gopher-lua's own implementations: the subset of the os
// library Argo CD opens (util/lua/oslib_safe.go).
func safeOsFuncs() map[string]lua.LGFunction {
	full := lua.NewState()
	defer full.Close()
	full.OpenLibs()
	osmod := full.GetGlobal(lua.OsLibName).(*lua.LTable)
	funcs := map[string]lua.LGFunction{}
	for _, name := range []string{"time", "date"} {
		funcs[name] = osmod.RawGetString(name).(*lua.LFunction).GFunction
	}
	return funcs
}

// decodeValue is Argo CD's conversion of unstructured content into Lua values.
func decodeValue(L *lua.LState, value interface{}) lua.LValue {
	switch v := value.(type) {
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case []interface{}:
		arr := L.CreateTable(len(v), 0)
		for _, item := range v {
			arr.Append(decodeValue(L, item))
		}
		return arr
	case map[string]interface{}:
		tbl := L.CreateTable(0, len(v))
		for key, item := range v {
			tbl.RawSetH(lua.LString(key), decodeValue(L, item))
		}
		return tbl
	}
	return lua.LNil
}

// unstructured decodes JSON as the Kubernetes libraries do for unstructured objects: integers
// as int64, other numbers as float64.
func unstructured(raw []byte) (interface{}, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v interface{}
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return convertNumbers(v), nil
}

func convertNumbers(v interface{}) interface{} {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []interface{}:
		for i := range x {
			x[i] = convertNumbers(x[i])
		}
	case map[string]interface{}:
		for k := range x {
			x[k] = convertNumbers(x[k])
		}
	}
	return v
}

// encode is gopher-json's Encode of a Lua value.
func encode(v lua.LValue) (interface{}, error) {
	switch x := v.(type) {
	case *lua.LNilType:
		return nil, nil
	case lua.LBool:
		return bool(x), nil
	case lua.LNumber:
		return float64(x), nil
	case lua.LString:
		return string(x), nil
	case *lua.LTable:
		key, _ := x.Next(lua.LNil)
		switch key.Type() {
		case lua.LTNil:
			return []interface{}{}, nil
		case lua.LTNumber:
			arr := []interface{}{}
			var err error
			x.ForEach(func(k, val lua.LValue) {
				if err != nil {
					return
				}
				if k.Type() != lua.LTNumber {
					err = fmt.Errorf("cannot encode mixed or invalid key types")
					return
				}
				var e interface{}
				e, err = encode(val)
				arr = append(arr, e)
			})
			return arr, err
		case lua.LTString:
			obj := map[string]interface{}{}
			var err error
			x.ForEach(func(k, val lua.LValue) {
				if err != nil {
					return
				}
				ks, ok := k.(lua.LString)
				if !ok {
					err = fmt.Errorf("cannot encode mixed or invalid key types")
					return
				}
				obj[string(ks)], err = encode(val)
			})
			return obj, err
		}
		return nil, fmt.Errorf("cannot encode mixed or invalid key types")
	}
	return nil, fmt.Errorf("cannot encode %s to JSON", v.Type().String())
}

func health(script string, raw []byte, safeOs map[string]lua.LGFunction) result {
	obj, err := unstructured(raw)
	if err != nil {
		return result{Error: "object: " + err.Error()}
	}
	if m, ok := obj.(map[string]interface{}); ok {
		if meta, ok := m["metadata"].(map[string]interface{}); ok && meta["deletionTimestamp"] != nil {
			return result{Status: "Progressing", Message: "Pending deletion"}
		}
	}

	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	openSafeOs := func(L *lua.LState) int {
		L.Push(L.RegisterModule(lua.OsLibName, safeOs))
		return 1
	}
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, openSafeOs},
	} {
		if err := L.CallByParam(lua.P{Fn: L.NewFunction(lib.fn), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return result{Error: err.Error()}
		}
	}
	L.PreloadModule(lua.OsLibName, func(L *lua.LState) int {
		L.Push(L.SetFuncs(L.NewTable(), safeOs))
		return 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	L.SetContext(ctx)
	L.SetGlobal("obj", decodeValue(L, obj))
	if err := L.DoString(script); err != nil {
		return result{Error: err.Error()}
	}
	ret := L.Get(-1)
	switch ret.Type() {
	case lua.LTNil:
		return result{}
	case lua.LTTable:
	default:
		return result{Error: fmt.Sprintf("expect table output from Lua script, not %s", ret.Type().String())}
	}
	encoded, err := encode(ret)
	if err != nil {
		return result{Error: err.Error()}
	}
	text, err := json.Marshal(encoded)
	if err != nil {
		return result{Error: err.Error()}
	}
	var hs struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(text, &hs); err != nil {
		return result{Error: err.Error()}
	}
	if !validStatus[hs.Status] {
		return result{Status: "Unknown", Message: "Lua returned an invalid health status"}
	}
	return result{Status: hs.Status, Message: hs.Message}
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "input:", err)
		os.Exit(1)
	}
	safeOs := safeOsFuncs()
	out := make([]result, 0, len(in.Objects))
	for _, o := range in.Objects {
		out = append(out, health(in.Script, o, safeOs))
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "output:", err)
		os.Exit(1)
	}
}
