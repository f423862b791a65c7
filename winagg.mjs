import fs from 'fs';
const p = JSON.parse(fs.readFileSync(process.argv[2]));
const startFn = process.argv[3];
const byId = new Map(p.nodes.map(n => [n.id, n]));
let t=0, start=-1; const self=new Map(); let total=0;
for (let i=0;i<p.samples.length;i++){ t+=p.timeDeltas[i]; const n=byId.get(p.samples[i]); if (start<0 && n.callFrame.functionName===startFn) start=t; if (start<0) continue; const d=p.timeDeltas[i]; total+=d;
 const k=n.callFrame.functionName; self.set(k,(self.get(k)||0)+d); }
console.log('phase2+html ms', (total/1000).toFixed(0), 'decodePayload', ((self.get('decodePayload')||0)/1000).toFixed(0), 'GC', ((self.get('(garbage collector)')||0)/1000).toFixed(0), 'idle', ((self.get('(idle)')||0)/1000).toFixed(0));
