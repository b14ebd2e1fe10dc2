if score.rate < vars.threshold then
  return false, "rate " .. score.rate
end
return true