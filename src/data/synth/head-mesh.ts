/**
 * The solid parts of a synthetic head in the head frame: skull/face surface with hair, neck,
 * ears and nose. Built once per identity; expressions move only the jaw region (jawDrop) and
 * the painted features.
 */
import { CROSS_SECTION_POWER, clamp, headHalfWidth, surfaceDepth, type Identity, type Rgb } from './face-model.js';

export interface Mesh {
  positions: Float64Array; // x, y, z per vertex
  normals: Float64Array; // unit outward normals
  albedo: Float32Array; // r, g, b per vertex (skin tone variations)
  hair: Float32Array; // 0 skin … 1 hair, thresholded per pixel for a crisp hairline
  triangles: Uint32Array;
}

class MeshBuilder {
  positions: number[] = []; normals: number[] = []; albedo: number[] = []; hair: number[] = []; triangles: number[] = [];
  add(p: [number, number, number], n: [number, number, number], colour: Rgb, hair = 0): number {
    const length = Math.hypot(n[0], n[1], n[2]) || 1;
    this.positions.push(...p); this.normals.push(n[0] / length, n[1] / length, n[2] / length);
    this.albedo.push(...colour); this.hair.push(hair);
    return this.positions.length / 3 - 1;
  }
  build(): Mesh {
    return { positions: Float64Array.from(this.positions), normals: Float64Array.from(this.normals), albedo: Float32Array.from(this.albedo), hair: Float32Array.from(this.hair), triangles: Uint32Array.from(this.triangles) };
  }
}

const RINGS = 56, SEGMENTS = 80;

/** Height of the hairline at azimuth phi (0 = face centre, ±π = back of the head). */
function hairlineHeight(identity: Identity, phi: number): number {
  const a = Math.abs(phi);
  if (a <= Math.PI / 2) {
    const t = Math.pow(a / (Math.PI / 2), 1.6);
    // A slight widow's-peak-free arch: lower at the temples.
    return identity.hairlineY + (identity.templeY - identity.hairlineY) * t;
  }
  const t = (a - Math.PI / 2) / (Math.PI / 2);
  return identity.templeY + (identity.napeY - identity.templeY) * Math.sin((t * Math.PI) / 2);
}

function headPoint(identity: Identity, v: number, phi: number): [number, number, number] {
  const y = identity.headHeight * v;
  const ring = Math.sqrt(Math.max(0, 1 - v * v));
  const s = Math.sin(phi), c = Math.cos(phi);
  const halfWidth = headHalfWidth(identity, y);
  const x = halfWidth * Math.sign(s) * Math.pow(Math.abs(s), CROSS_SECTION_POWER);
  const z = identity.headDepth * ring * Math.sign(c) * Math.pow(Math.abs(c), CROSS_SECTION_POWER);
  return [x, y, z];
}

export function buildHeadMesh(identity: Identity): Mesh {
  const mesh = new MeshBuilder();
  const skin = identity.skin;
  const grid: number[][] = [];
  for (let i = 0; i <= RINGS; i++) {
    const v = 1 - (2 * i) / RINGS; // top to bottom
    const row: number[] = [];
    for (let j = 0; j < SEGMENTS; j++) {
      const phi = -Math.PI + (2 * Math.PI * j) / SEGMENTS;
      const p = headPoint(identity, v, phi);
      // Normal from the parametric tangents (finite differences).
      const dv = 1e-3, dp = 1e-3;
      const pv = headPoint(identity, clamp(v - dv, -1, 1), phi), pp = headPoint(identity, v, phi + dp);
      const tv: [number, number, number] = [pv[0] - p[0], pv[1] - p[1], pv[2] - p[2]];
      const tp: [number, number, number] = [pp[0] - p[0], pp[1] - p[1], pp[2] - p[2]];
      let n: [number, number, number] = [tv[1] * tp[2] - tv[2] * tp[1], tv[2] * tp[0] - tv[0] * tp[2], tv[0] * tp[1] - tv[1] * tp[0]];
      if (!(Math.hypot(...n) > 1e-12)) n = [p[0], p[1], p[2]];
      if (n[0] * p[0] + n[1] * p[1] + n[2] * p[2] < 0) n = [-n[0], -n[1], -n[2]];
      const hairY = hairlineHeight(identity, phi);
      const hair = clamp((p[1] - hairY) / 0.06 + 0.5, 0, 1);
      // Hair has volume: push it out along the normal, more on top than at the hairline.
      const lift = hair > 0 ? identity.hairVolume * clamp((p[1] - hairY) / 0.25, 0, 1) : 0;
      const length = Math.hypot(...n) || 1;
      const q: [number, number, number] = [p[0] + (n[0] / length) * lift, p[1] + (n[1] / length) * lift, p[2] + (n[2] / length) * lift];
      // Cheeks a little redder, the jaw a little darker: breaks the flat look.
      const cheek = Math.exp(-(((Math.abs(q[0]) - 0.45) ** 2) / 0.04 + ((q[1] - (identity.eyeY - 0.35)) ** 2) / 0.05)) * (q[2] > 0 ? 1 : 0);
      const colour: Rgb = [skin[0] * (1 + 0.06 * cheek), skin[1] * (1 - 0.05 * cheek), skin[2] * (1 - 0.05 * cheek)];
      row.push(mesh.add(q, n, colour, hair));
    }
    grid.push(row);
  }
  for (let i = 0; i < RINGS; i++) {
    for (let j = 0; j < SEGMENTS; j++) {
      const a = grid[i]![j]!, b = grid[i]![(j + 1) % SEGMENTS]!, c = grid[i + 1]![j]!, d = grid[i + 1]![(j + 1) % SEGMENTS]!;
      mesh.triangles.push(a, b, c, b, d, c);
    }
  }
  addNeck(mesh, identity);
  for (const side of [-1, 1] as const) addEar(mesh, identity, side);
  return mesh.build();
}

function addNeck(mesh: MeshBuilder, identity: Identity): void {
  const top = -0.45 * identity.headHeight, bottom = -identity.headHeight - 1.6;
  const radiusX = 0.52 * identity.headWidth, radiusZ = 0.5, centreZ = -0.2;
  const shadow: Rgb = [identity.skin[0] * 0.82, identity.skin[1] * 0.8, identity.skin[2] * 0.8];
  const rows: number[][] = [];
  for (const y of [top, bottom]) {
    const row: number[] = [];
    for (let j = 0; j < 32; j++) {
      const phi = (2 * Math.PI * j) / 32;
      const s = Math.sin(phi), c = Math.cos(phi);
      row.push(mesh.add([radiusX * s, y, centreZ + radiusZ * c], [s / radiusX, 0, c / radiusZ], shadow));
    }
    rows.push(row);
  }
  for (let j = 0; j < 32; j++) {
    const a = rows[0]![j]!, b = rows[0]![(j + 1) % 32]!, c = rows[1]![j]!, d = rows[1]![(j + 1) % 32]!;
    mesh.triangles.push(a, b, c, b, d, c);
  }
}

function addEar(mesh: MeshBuilder, identity: Identity, side: -1 | 1): void {
  const centreY = identity.eyeY - 0.12;
  const rootX = side * headHalfWidth(identity, centreY) * 0.97;
  const colour: Rgb = [identity.skin[0] * 0.95, identity.skin[1] * 0.88, identity.skin[2] * 0.86];
  const centre = mesh.add([rootX + side * 0.05, centreY, -0.12], [side, 0, 0.35], colour);
  const ring: number[] = [];
  for (let k = 0; k < 14; k++) {
    const angle = (2 * Math.PI * k) / 14;
    const y = centreY + 0.22 * Math.sin(angle), z = -0.12 + 0.12 * Math.cos(angle);
    const out = 0.04 + 0.05 * (Math.cos(angle) + 1) / 2; // the rim stands off the head
    ring.push(mesh.add([rootX + side * out, y, z], [side, 0.2 * Math.sin(angle), 0.5 * Math.cos(angle)], colour));
  }
  for (let k = 0; k < 14; k++) mesh.triangles.push(centre, ring[k]!, ring[(k + 1) % 14]!);
}

/** The nose as a small solid over the face surface, from landmarks 27–35. */
export function buildNoseMesh(identity: Identity, landmarks: Float64Array): Mesh {
  const mesh = new MeshBuilder();
  const colour: Rgb = [identity.skin[0] * 1.02, identity.skin[1] * 0.97, identity.skin[2] * 0.96];
  const point = (i: number): [number, number, number] => [landmarks[3 * i]!, landmarks[3 * i + 1]!, landmarks[3 * i + 2]!];
  const onSurface = (x: number, y: number): [number, number, number] => [x, y, surfaceDepth(identity, x, y) - 0.005];
  const wing = Math.abs(landmarks[3 * 31]!);
  const y27 = landmarks[3 * 27 + 1]!, y29 = landmarks[3 * 29 + 1]!, y30 = landmarks[3 * 30 + 1]!;
  const vertices: [number, number, number][] = [
    point(27), point(28), point(29), point(30), point(31), point(32), point(33), point(34), point(35),
    onSurface(-0.07, y27), onSurface(-wing * 0.85, (y29 + y30) / 2), onSurface(-wing * 0.9, landmarks[3 * 31 + 1]! - 0.03), onSurface(0, landmarks[3 * 33 + 1]! - 0.04),
    onSurface(0.07, y27), onSurface(wing * 0.85, (y29 + y30) / 2), onSurface(wing * 0.9, landmarks[3 * 35 + 1]! - 0.03),
  ];
  // Indices: 0..8 = landmarks 27..35; 9..12 left surface anchors + under-nose; 13..15 right anchors.
  const faces: [number, number, number][] = [
    [0, 1, 9], [1, 10, 9], [1, 2, 10], [2, 4, 10], [2, 3, 4], [3, 5, 4], [3, 6, 5], [4, 11, 10],
    [0, 13, 1], [1, 13, 14], [1, 14, 2], [2, 14, 8], [2, 8, 3], [3, 8, 7], [3, 7, 6], [8, 14, 15],
    [4, 5, 12], [5, 6, 12], [6, 7, 12], [7, 8, 12], [4, 12, 11], [8, 15, 12],
  ];
  const normals = vertices.map(() => [0, 0, 0] as [number, number, number]);
  for (const [a, b, c] of faces) {
    const pa = vertices[a]!, pb = vertices[b]!, pc = vertices[c]!;
    const u = [pb[0] - pa[0], pb[1] - pa[1], pb[2] - pa[2]], v = [pc[0] - pa[0], pc[1] - pa[1], pc[2] - pa[2]];
    let n: [number, number, number] = [u[1]! * v[2]! - u[2]! * v[1]!, u[2]! * v[0]! - u[0]! * v[2]!, u[0]! * v[1]! - u[1]! * v[0]!];
    const centre = [(pa[0] + pb[0] + pc[0]) / 3, (pa[1] + pb[1] + pc[1]) / 3, (pa[2] + pb[2] + pc[2]) / 3];
    // Outward = away from a point inside the face behind the nose.
    if (n[0] * centre[0]! + n[1] * (centre[1]! - (y27 + y30) / 2) + n[2] * (centre[2]! + 0.5) < 0) n = [-n[0], -n[1], -n[2]];
    for (const index of [a, b, c]) { normals[index]![0] += n[0]; normals[index]![1] += n[1]; normals[index]![2] += n[2]; }
  }
  vertices.forEach((p, k) => mesh.add(p, normals[k]!, colour));
  for (const face of faces) mesh.triangles.push(...face);
  return mesh.build();
}
