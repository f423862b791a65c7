import fs from 'fs';
const f = process.argv[2];
const p = JSON.parse(fs.readFileSync(f));
const byId = new Map(p.nodes.map(n => [n.id, n]));
const self = new Map();
const dt = p.timeDeltas; let total=0;
for (let i=0;i<p.samples.length;i++){ const n=byId.get(p.samples[i]); const d=dt[i]||0; total+=d; self.set(n.id,(self.get(n.id)||0)+d);}
const byFn=new Map(), byFile=new Map();
for (const [id,t] of self){ const n=byId.get(id); const cf=n.callFrame; const file=(cf.url||'').replace(/.*\/(node_modules\/[^/]+|dist\/[^ ]*)/,'$1')||'('+cf.functionName+')';
 const k=cf.functionName+' '+file+':'+cf.lineNumber; byFn.set(k,(byFn.get(k)||0)+t); byFile.set(file,(byFile.get(file)||0)+t);}
console.log('total ms', (total/1000).toFixed(0));
const top=(m,n)=>[...m].sort((a,b)=>b[1]-a[1]).slice(0,n).forEach(([k,t])=>console.log((t/1000).toFixed(0).padStart(6), (100*t/total).toFixed(1).padStart(5)+'%', k));
console.log('--- by file'); top(byFile,30); console.log('--- by fn'); top(byFn,45);
