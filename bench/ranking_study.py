"""Which review ranking finds wrong labels: a study on Fashion-MNIST subsets in PyTorch,
used to choose the review queue's ensemble (docs/evaluation/README.md).

usage: /usr/bin/python3 bench/ranking_study.py uniform|pair|confusion [train images] [epochs]

Trains the built-in CNN's architecture (two 3×3 convolutions, a 64-d embedding, fc) with
plain SGD on a seeded subset with injected noise (uniform 10 %, pair 20 % c → c+1, or
confusion 10 % drawn from a clean model's test confusion), then 4-fold cross-validated
models, and prints the share of flips in the top 1/5/10/20/30 % of in-sample, out-of-sample,
neighbour-vote and combined rankings. Needs python3-torch, python3-numpy, python3-scipy and
dataset-fashion-mnist. Run with OPENBLAS_NUM_THREADS=1 (see docs/benchmarks-models.md §6).
"""
import gzip, sys, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(2)
D="/usr/share/datasets/fashion-mnist"
def idx(name):
    with gzip.open(f"{D}/{name}") as f: b=f.read()
    nd=b[3]; dims=[int.from_bytes(b[4+4*i:8+4*i],'big') for i in range(nd)]
    return np.frombuffer(b,dtype=np.uint8,offset=4+4*nd).reshape(dims)
X=torch.tensor(idx("train-images-idx3-ubyte.gz")).float().div(255).sub(0.286).div(0.353).unsqueeze(1)
Y=torch.tensor(idx("train-labels-idx1-ubyte.gz")).long()
XT=torch.tensor(idx("t10k-images-idx3-ubyte.gz")).float().div(255).sub(0.286).div(0.353).unsqueeze(1)
YT=torch.tensor(idx("t10k-labels-idx1-ubyte.gz")).long()
N=int(sys.argv[2]) if len(sys.argv)>2 else 60000
g=np.random.default_rng(7); sub=np.sort(g.permutation(60000)[:N]); X=X[sub]; Y=Y[sub]
class Net(nn.Module):
    def __init__(s):
        super().__init__(); s.c1=nn.Conv2d(1,16,3,padding=1); s.c2=nn.Conv2d(16,32,3,padding=1); s.l=nn.Linear(32*7*7,64); s.fc=nn.Linear(64,10)
    def embed(s,x):
        x=F.max_pool2d(F.relu(s.c1(x)),2); x=F.max_pool2d(F.relu(s.c2(x)),2); return F.relu(s.l(x.flatten(1)))
    def forward(s,x): return s.fc(s.embed(x))
def train(x,y,epochs,seed):
    torch.manual_seed(seed); m=Net(); lr=0.05
    for ep in range(epochs):
        opt=torch.optim.SGD(m.parameters(),lr=lr*(0.5**(ep//4)))
        perm=torch.randperm(len(x))
        for b in range(0,len(x),64):
            i=perm[b:b+64]; opt.zero_grad(); F.cross_entropy(m(x[i]),y[i]).backward(); opt.step()
    return m
@torch.no_grad()
def run(m,x):
    hs=[];ps=[]
    for b in range(0,len(x),1024):
        h=m.embed(x[b:b+1024]); hs.append(h); ps.append(F.softmax(m.fc(h),1))
    return torch.cat(hs),torch.cat(ps)
def knn_vote(hq,hr,yr,k,exclude_self=False):
    hq=F.normalize(hq,dim=1); hr=F.normalize(hr,dim=1); q=torch.zeros(len(hq),10)
    for b in range(0,len(hq),2048):
        s=hq[b:b+2048]@hr.T
        if exclude_self: s[torch.arange(s.shape[0]),torch.arange(b,b+s.shape[0])]=-9
        v,i=s.topk(k,dim=1); w=v.clamp(min=0)+1e-6
        q[b:b+2048].scatter_add_(1,yr[i],w)
    return q/q.sum(1,keepdim=True)
def recall(score,flipped,budgets=(0.01,0.05,0.1,0.2,0.3)):
    o=np.argsort(-score,kind='stable'); n=len(o); f=flipped.sum()
    return [flipped[o[:int(round(b*n))]].sum()/f for b in budgets]
def noise(kind,rate,seed,conf=None):
    r=np.random.default_rng(seed); y=Y.numpy().copy(); n=len(y); k=int(round(rate*n)); ids=r.permutation(n)[:k]
    for i in ids:
        c=y[i]
        if kind=="uniform": y[i]=r.choice([j for j in range(10) if j!=c])
        elif kind=="pair": y[i]=(c+1)%10
        else:
            row=conf[c].copy(); row[c]=0; y[i]=r.choice(10,p=row/row.sum())
    return torch.tensor(y)
kind=sys.argv[1]; rate={"uniform":0.1,"pair":0.2,"confusion":0.1}[kind]; E=int(sys.argv[3]) if len(sys.argv)>3 else 5; K=4
conf=None
t0=time.time()
if kind=="confusion":
    mc=train(X,Y,E,1); _,pt=run(mc,XT); pred=pt.argmax(1).numpy(); conf=np.zeros((10,10))
    for a,b in zip(YT.numpy(),pred): conf[a,b]+=1
yn=noise(kind,rate,1,conf); flipped=(yn!=Y).numpy()
print(f"{kind} {rate} N={len(Y)} flips={flipped.sum()} epochs={E}", flush=True)
m=train(X,yn,E,1); h,p=run(m,X); _,pt=run(m,XT); print("test acc", (pt.argmax(1)==YT).float().mean().item(), flush=True)
yi=yn.numpy(); ar=np.arange(len(yi))
res={}
res["loss(in)"]=-np.log(p[ar,yi].numpy()+1e-12)
res["margin(in)"]=-(p[ar,yi]-p.clone().scatter_(1,yn[:,None],-1).max(1).values).numpy()
qin=knn_vote(h,h,yn,20,True); res["knn20(in)"]=1-qin[ar,yi].numpy()
# folds
r=np.random.default_rng(11); fold=np.zeros(len(yi),int)
for c in range(10):
    ii=np.where(yi==c)[0]; r.shuffle(ii); fold[ii]=np.arange(len(ii))%K
po=torch.zeros(len(yi),10); qo=torch.zeros(len(yi),10)
for k in range(K):
    tr=np.where(fold!=k)[0]; te=np.where(fold==k)[0]
    mk=train(X[tr],yn[tr],E,100+k); hte,pte=run(mk,X[te]); htr,_=run(mk,X[tr])
    po[te]=pte; qo[te]=knn_vote(hte,htr,yn[tr],20)
    print("fold",k,"done",round(time.time()-t0),flush=True)
res["cv-selfconf (baseline)"]=1-po[ar,yi].numpy()
res["cv-margin"]=-(po[ar,yi]-po.clone().scatter_(1,yn[:,None],-1).max(1).values).numpy()
res["cv-knn20"]=1-qo[ar,yi].numpy()
res["cv-selfconf+cv-knn (avg prob)"]=1-((po+qo)/2)[ar,yi].numpy()
res["cv-selfconf+knn(in) (avg prob)"]=1-((po+qin)/2)[ar,yi].numpy()
from scipy.stats import rankdata
def rk(a): return rankdata(a)/len(a)
res["rank-avg(cv-selfconf,loss(in))"]=rk(res["cv-selfconf (baseline)"])+rk(res["loss(in)"])
res["rank-avg(cv-selfconf,cv-knn,loss(in))"]=rk(res["cv-selfconf (baseline)"])+rk(res["cv-knn20"])+rk(res["loss(in)"])
res["avgprob(cv,cvknn,in)"]=1-((po+qo+p)/3)[ar,yi].numpy()
res["avgprob(cv,knn(in),in)"]=1-((po+qin+p)/3)[ar,yi].numpy()
res["avgprob(cv,in)"]=1-((po+p)/2)[ar,yi].numpy()
res["avgprob(knn(in),in)"]=1-((qin+p)/2)[ar,yi].numpy()
for name,s in res.items():
    print(f"{name:40s}", " ".join(f"{100*v:5.1f}" for v in recall(s,flipped)), flush=True)
print("seconds", round(time.time()-t0))
